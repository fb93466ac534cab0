"""Answers as given, the human review of low-confidence ones, and corrections as eval cases."""
