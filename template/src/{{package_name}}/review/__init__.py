"""Answers as given, feedback on them, and the human review of low-confidence ones."""
