"""基本公卫 Excel route (SPEC H7): columns of the import template and the export.
(Placeholder until the import is written; see issue 6.)"""
COLUMNS = ()
EXPORT_FIELDS = ()


def check(rows, user):
    return []


def create(row, user):
    raise NotImplementedError
