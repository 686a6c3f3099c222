"""Response headers every page carries (issue 17 item 7): no framing, no type sniffing, a
Content-Security-Policy the vendored assets satisfy, and nothing of a signed-in user's pages
or downloads kept in a cache."""
from flask import request
from flask_login import current_user


def content_security_policy(config):
    images = " ".join(["'self'", "data:", "blob:"] + list(config.get("CSP_IMG_SOURCES") or []))
    # FAB's own templates carry inline scripts and styles, hence 'unsafe-inline'; every
    # script and stylesheet file is served from this site (no CDN).
    return ("default-src 'self'; "
            f"img-src {images}; "
            "style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-inline'; "
            "font-src 'self' data:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def install_headers(app):
    policy = content_security_policy(app.config)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", policy)
        signed_in = (request.headers.get("Authorization")
                     or getattr(current_user, "is_authenticated", False))
        if signed_in and not request.path.startswith(app.static_url_path + "/"):
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response
