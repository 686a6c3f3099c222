"""Roles as data (SPEC P6): role → the views (FAB view-menu names) it may use, with "*"
for every permission of that view. Created idempotently at start-up and by `flask
portal sync-roles`; super-admins grant and revoke them in FAB's role screens."""
BASE_ROLE = "P 基础"
BASE_GRANTS = {"PasswordView": "*", "AttachmentView": "*", "MeApi": "*", "ExportJobView": "*",
               "ExportJobApi": "*", "RegionApi": ["can_get", "can_info"],
               "AnnouncementApi": ["can_get", "can_info"]}


def role_table(modules):
    """The platform's base role, then every module's roles in module order."""
    table = {BASE_ROLE: dict(BASE_GRANTS)}
    for module in modules:
        for role, grants in module.roles.items():
            table.setdefault(role, {}).update(grants)
    return table


def sync_roles(appbuilder):
    """Create every declared role and grant what the table says (plus the menu entries of
    those views). Idempotent and add-only: extra grants a super-admin makes in the role
    screens survive; a declared permission revoked there comes back at the next sync,
    so a lasting revocation belongs in the module's roles (or in a separate role)."""
    from app.module import modules
    sm = appbuilder.sm
    menu_of = {}
    for view in appbuilder.baseviews:
        name = view.class_permission_name
        for item in appbuilder.menu.get_list():
            for child in item.childs or []:
                if getattr(child, "baseview", None) is view:
                    menu_of.setdefault(name, set()).update({child.name, item.name})
    for role_name, grants in role_table(modules()).items():
        role = sm.find_role(role_name) or sm.add_role(role_name)
        wanted = []
        for view_name, perms in grants.items():
            view_menu = sm.find_view_menu(view_name)
            if view_menu is None:
                continue
            for pv in sm.find_permissions_view_menu(view_menu):
                if perms == "*" or pv.permission.name in perms:
                    wanted.append(pv)
            for menu_name in menu_of.get(view_name, ()):
                wanted.append(sm.add_permission_view_menu("menu_access", menu_name))
        for pv in wanted:
            if pv is not None and pv not in role.permissions:
                role.permissions.append(pv)
    sm.session.commit()
