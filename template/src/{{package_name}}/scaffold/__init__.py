"""`<slug> feature new NAME`: write a working feature the team then makes its own.

The feature sorts a text into a category and summarises it, offline, with keyword rules; its
prompt, flags, eval cases, gate and baseline and its own tests come with it, and its name is
added to `features/__init__.py`. `make all` and `make eval-gate` pass straight after. The files
it writes are the team's: edit the schemas, the rules and the prompt to make it yours.
"""
