"""疾病应急救助 services: rules.py (field rules, raise InvalidError, never commit),
commands.py (actions that write and commit), queries.py (figures and look-ups)."""
