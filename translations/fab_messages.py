"""Flask-AppBuilder UI strings that FAB's own zh catalogue lacks (or gets wrong).

Never imported: this file only exists so that `pybabel extract` (see babel.cfg) puts these
msgids into translations/messages.pot, and `make babel` (`pybabel update`) therefore keeps
their translations in translations/zh/LC_MESSAGES/messages.po instead of marking them
obsolete.  Flask-Babel loads FAB's catalogue first and ours second, and a later catalogue
overrides an earlier one for the same msgid, so the zh msgstr given for these wins.
"""


def _(s):
    return s


MISSING_FROM_FAB_ZH = [
    # templates/appbuilder/general/lib.html (sr-only link texts, delete confirmation)
    _("Add"),
    _("Edit"),
    _("Show"),
    _("Delete"),
    _("Are you sure you want to delete this item?"),
    # baseviews.py
    _("Database Error"),
    # fields.py (fuzzy in FAB's zh .po, hence not in its .mo)
    _("Not a valid choice"),
    # validators.py
    _("Must have at least two capital letters, one special character, two digits, "
      "three lower case letters and a minimal length of 10."),
    # models/generic/filters.py, models/sqla/filters.py
    _("Contains (insensitive)"),
    _("Start with"),
    _("In"),
    _("Not In"),
    # security/forms.py, security/views.py, security/manager.py
    _("Either select a role or a group"),
    _("List Groups"),
    _("Show Group"),
    _("Add Group"),
    _("Edit Group"),
    _("Groups"),
    _("Edit User Information"),
    _("User information changed"),
    _("The user's password for authentication"),
    _("It's not a good policy to remove a user, just make it inactive"),
    _("User(s) exists in the role, cannot delete"),
    _("User(s) exists in the group, cannot delete"),
    # templates/appbuilder/general/security/login_oauth.html, login_saml.html
    _("Sign In with "),
]

# Present in FAB's zh catalogue but translated badly; ours overrides them.
CORRECTED_FAB_ZH = [
    _("Starts with"),
    _("Not Starts with"),
    _("Ends with"),
    _("Not Ends with"),
    _("Integrity error, probably unique constraint"),
]
