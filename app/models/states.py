"""A workflow's states, declared once per object as an enum of (stored value, label): the
value is what the database and the API hold, the label what every screen shows."""
import enum


class State(str, enum.Enum):
    """Subclass with members `NAME = "value", _l("标签")`."""

    def __new__(cls, value, label):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    def __str__(self):
        return self.value

    @classmethod
    def labels(cls):
        """{stored value: label}, the flows' `state_labels`."""
        return {state.value: state.label for state in cls}
