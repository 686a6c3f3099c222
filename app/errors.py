"""The domain errors: one small family every rule, command and the workflow engine raise,
mapped to HTTP once (app/views/shared/errors.py), never caught one by one in a view.

    NotFoundError      404  not there, or not in the caller's scope
    ForbiddenError     403  the caller's role may not do this
    ConflictError      409  not in this state / someone else changed it; a batch refusal
                            lists its rows in `ineligible` ({"id", "state", "reason"})
    InvalidError       422  bad input; `fields` maps a field name to its messages
    FieldError         422  an InvalidError of one field that is also a ValueError, for
                            rules whose older callers catch ValueError (attachments, accounts)

The API answers JSON {"message", "fields", "ineligible"}; an HTML form is shown again with
what was typed and each message beside its field, with the same status."""


class DomainError(Exception):
    status = 409

    def __init__(self, message, status=None, ineligible=None, fields=None):
        super().__init__(str(message))
        self.message = str(message)
        if status is not None:
            self.status = status
        self.ineligible = ineligible or []
        self.fields = fields or {}

    def body(self):
        """The JSON the API answers with."""
        out = {"message": self.message}
        if self.fields:
            out["fields"] = {k: [str(m) for m in (v if isinstance(v, (list, tuple)) else [v])]
                             for k, v in self.fields.items()}
        if self.ineligible:
            out["ineligible"] = [{k: r[k] for k in ("id", "state", "reason")}
                                 for r in self.ineligible]
        return out


class NotFoundError(DomainError):
    status = 404


class ForbiddenError(DomainError):
    status = 403


class ConflictError(DomainError):
    status = 409


class InvalidError(DomainError):
    status = 422


class FieldError(InvalidError, ValueError):
    """Bad input of one field: InvalidError(message, fields={field: [message]}); still a
    ValueError, so older callers that catch ValueError keep working."""
    field = None

    def __init__(self, message, field=None):
        field = field or self.field
        super().__init__(message, fields={field: [str(message)]} if field else None)
