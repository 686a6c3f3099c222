"""Limits on what a request may carry (issue 17 items 4 and 5): its size, from the
附件大小上限 parameter plus a margin for the form around the file (read on every request,
so a change is live at once) under a fixed hard cap; and how deeply its JSON body nests,
refused before any endpoint — the portal's or FAB's generated ones — parses it."""
import json
import re
from array import array
from itertools import accumulate

from flask import current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from app.i18n import _, _l

MB = 1024 * 1024
MARGIN_MB = 1            # the multipart envelope and the other fields of an upload form
HARD_CAP = 256 * MB      # MAX_CONTENT_LENGTH when the configuration sets none
MAX_JSON_DEPTH = 32
BODYLESS = ("GET", "HEAD", "OPTIONS")
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")             # +1 / -1 as signed bytes
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[{]}")


class NestedTooDeep(BadRequest):
    user_message = _l("请求体嵌套过深")


def upload_mb():
    from app.services.parameters import param
    return param("upload_max_mb")


def request_limit():
    """The most bytes a request may carry now."""
    return min((upload_mb() + MARGIN_MB) * MB, current_app.config["MAX_CONTENT_LENGTH"])


def too_large_message():
    return _("上传的内容过大：单个附件不能超过 %(one)s MB，一次上传合计不能超过 %(all)s MB",
             one=upload_mb(), all=f"{request_limit() / MB:g}")


def json_too_deep(data, limit=MAX_JSON_DEPTH):
    """Does this JSON text open more than `limit` arrays/objects inside one another? The
    brackets inside strings do not count; nothing is parsed, so nothing recurses."""
    text = data.decode(json.detect_encoding(data), "replace")   # as json.loads reads it
    outside_strings = _STRINGS.sub("", text).encode()
    steps = array("b", outside_strings.translate(_STEPS, _NOT_BRACKETS))
    return max(accumulate(steps), default=0) > limit


def install_limits(app):
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = HARD_CAP

    def limit_request():
        if request.method in BODYLESS:
            return
        limit = request_limit()
        request.max_content_length = limit   # a body without Content-Length stops here too
        if request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge()    # refused by its length, before it is read
        if not request.is_json:
            return
        data = request.get_data(cache=True)
        if request.content_length is None and len(data) >= limit:
            raise RequestEntityTooLarge()    # werkzeug cuts a streamed body at the limit
        if json_too_deep(data):
            raise NestedTooDeep()

    # first of all: CSRF protection and FAB's guards read the form (the body) themselves
    app.before_request_funcs.setdefault(None, []).insert(0, limit_request)
