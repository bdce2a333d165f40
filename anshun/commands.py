"""The command boundary: every write, from any door, is a command that authorises itself.

Each app declares one ``Policy``: a table from command name to a ``Rule`` (the capability the
actor's role must hold, the keyword argument naming the object the command acts on, the further
objects it refers to, and any extra condition). Its services are wrapped with
``@policy.command("name")``; the wrapper authorises before the service body runs, so a page, an
API action, an admin ``save_model``, Open311, a bulk batch or a task cannot reach the write
without the same check. Reads have their own single mechanism (``anshun.scoping``); commands
use it too, for the object they act on.

The checks run in one order so that answers never depend on what exists out of the actor's
sight:

1. the actor is a signed-in, active account, and its role holds the capability
   → otherwise ``NotPermitted`` (403), decided before any row is looked at;
2. the target object is visible to the actor through its model's ``visible_to``
   → otherwise ``NotFound`` (404), the same answer as for an object that does not exist;
3. every referred object (a unit to dispatch to, a committee, a mediator…) is visible too
   → otherwise a field error saying it was not found, never why;
4. the rule's extra condition (for example "a case officer of this project")
   → ``NotPermitted`` with its message.

Every refusal is one exception family, ``CommandRefused``. Its members are also the Django
exceptions that each door already renders (``PermissionDenied`` → 403, ``Http404`` → 404,
``ValidationError`` → 400 with field errors), and ``Conflict`` is rendered as 409 by the API's
exception handler and by ``anshun.middleware.CommandRefusedMiddleware`` for pages.

Work that no person starts (beat jobs, demo loaders, migrations) calls services marked
``@system_command``: a visible marker that the call has no actor to authorise.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import models
from django.http import Http404
from django.utils.translation import gettext as _


class CommandRefused(Exception):
    """Base of every refusal a command gives; each door renders it in its own format."""

    status_code = 400
    code = "refused"


class NotPermitted(CommandRefused, PermissionDenied):
    """The actor's role may not do this (403). Says nothing about the object."""

    status_code = 403
    code = "not_permitted"

    def __init__(self, message: str | None = None):
        self.message = str(message or _("Your role cannot do this."))
        super().__init__(self.message)


class NotFound(CommandRefused, Http404):
    """The object does not exist, or is outside the actor's sight (404: the same answer)."""

    status_code = 404
    code = "not_found"

    def __init__(self, message: str | None = None):
        self.message = str(message or _("Not found."))
        super().__init__(self.message)


class Conflict(CommandRefused):
    """The request clashes with the object's state, e.g. a reused idempotency key (409)."""

    status_code = 409
    code = "conflict"

    def __init__(self, message: str, *, field_name: str = "non_field_errors"):
        self.message = str(message)
        self.field_name = field_name
        super().__init__(self.message)


class Invalid(CommandRefused, ValidationError):
    """Bad input (400 with field errors); a plain Django ``ValidationError`` means the same."""

    status_code = 400
    code = "invalid"

    def __init__(self, message, code=None, params=None):
        ValidationError.__init__(self, message, code, params)


@dataclass(frozen=True)
class Rule:
    """Who may run one command, and on what.

    ``capability``: the role capability required (``accounts.roles.ROLE_CAPABILITIES``).
    ``target``: the keyword argument holding the object acted on (an instance, or an id when
    ``target_model`` names its model as ``"app.Model"``); it must be visible to the actor.
    ``refers``: keyword arguments holding further objects that must be visible to the actor
    (``None`` values are skipped); a hidden one is a field error, never a 404.
    ``condition``: ``(actor, target) -> message or None``, checked last.
    """

    capability: str
    target: str | None = None
    target_model: str | None = None
    refers: tuple[str, ...] = ()
    condition: Callable[[Any, Any], str | None] | None = field(default=None)
    why: str = ""


COMMANDS: dict[str, Callable] = {}
SYSTEM_COMMANDS: dict[str, Callable] = {}


def _visible(model: type[models.Model], actor, pk) -> bool:
    if getattr(model, "scope_rule", None) is None:
        raise ImproperlyConfigured(f"{model.__name__} has no scope_rule; a command cannot target it.")
    return model.objects.visible_to(actor).filter(pk=pk).exists()


def _pk_of(value) -> Any:
    return value.pk if isinstance(value, models.Model) else value


class Policy:
    """One app's table of commands; the single place its write permissions are declared."""

    def __init__(self, app_label: str, rules: dict[str, Rule]):
        self.app_label = app_label
        self.rules = rules

    def __repr__(self) -> str:
        return f"Policy({self.app_label!r}, {len(self.rules)} rules)"

    def rule(self, name: str) -> Rule:
        return self.rules[name]

    def can(self, name: str, *, actor) -> bool:
        """Whether the actor's role may run the command at all (for buttons and menus)."""
        return _holds(actor, self.rules[name].capability)

    def authorize(self, name: str, *, actor, arguments: dict[str, Any]) -> Any:
        """Run checks 1-4 of the module docstring; return the target as given (or ``None``)."""
        rule = self.rules[name]
        if not _holds(actor, rule.capability):
            raise NotPermitted()
        target = arguments.get(rule.target) if rule.target else None
        if rule.target:
            model = _model_of(rule, target)
            pk = _pk_of(target)
            if pk is None or not _visible(model, actor, pk):
                raise NotFound()
        problems = {}
        for name_ in rule.refers:
            value = arguments.get(name_)
            if value is None or value == "":
                continue
            values = value if isinstance(value, list | tuple | set | frozenset) else [value]
            for item in values:
                if not isinstance(item, models.Model):
                    raise ImproperlyConfigured(f"{name_} must be passed as a model instance.")
                if getattr(type(item), "scope_rule", None) is None:
                    continue  # the service checks fit itself (documented in the rule's ``why``)
                if not _visible(type(item), actor, item.pk):
                    problems[name_] = _("Not found in your jurisdiction.")
        if problems:
            raise Invalid(problems)
        if rule.condition is not None:
            message = rule.condition(actor, target)
            if message:
                raise NotPermitted(message)
        return target

    def command(self, name: str):
        """Wrap a service so that every call is authorised by this policy's rule ``name``."""
        if name not in self.rules:
            raise ImproperlyConfigured(f"{self.app_label} has no policy rule {name!r}.")

        def decorate(func):
            _require_keyword_only(func, needs_actor=True)

            @functools.wraps(func)
            def wrapper(*, actor, **kwargs):
                self.authorize(name, actor=actor, arguments=kwargs)
                return func(actor=actor, **kwargs)

            wrapper.policy = self
            wrapper.command_name = name
            wrapper.rule = self.rules[name]
            COMMANDS[f"{self.app_label}.{name}"] = wrapper
            return wrapper

        return decorate


def system_command(why: str):
    """Mark a service that runs with no actor (beat jobs, loaders); ``why`` says who calls it."""

    def decorate(func):
        _require_keyword_only(func, needs_actor=False)
        func.system_command = why
        SYSTEM_COMMANDS[f"{func.__module__}.{func.__name__}"] = func
        return func

    return decorate


def _holds(actor, capability: str) -> bool:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    return actor.can(capability)


def _model_of(rule: Rule, target) -> type[models.Model]:
    if rule.target_model:
        return apps.get_model(rule.target_model)
    if isinstance(target, models.Model):
        return type(target)
    raise ImproperlyConfigured(f"Rule for {rule.target} needs target_model when given an id.")


def _require_keyword_only(func, *, needs_actor: bool) -> None:
    params = inspect.signature(func).parameters.values()
    positional = [p.name for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    if positional:
        raise ImproperlyConfigured(f"{func.__qualname__} takes positional arguments: {positional}.")
    if needs_actor and "actor" not in inspect.signature(func).parameters:
        raise ImproperlyConfigured(f"{func.__qualname__} is a command and must take actor=.")


def policies() -> Iterable[Policy]:
    """Every app's policy table (the ``policy`` module of each installed app that has one)."""
    seen = {}
    for command in COMMANDS.values():
        seen.setdefault(command.policy.app_label, command.policy)
    return seen.values()


def load_all_commands() -> None:
    """Import every app's services so that ``COMMANDS`` is complete (for the access matrix)."""
    from importlib import import_module
    from pkgutil import iter_modules

    for config in apps.get_app_configs():
        if not config.path.startswith(str(_project_root())):
            continue
        for module_name in ("services", "policy"):
            try:
                module = import_module(f"{config.name}.{module_name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.{module_name}":
                    raise
                continue
            if hasattr(module, "__path__"):
                for info in iter_modules(module.__path__):
                    import_module(f"{module.__name__}.{info.name}")


def _project_root():
    from django.conf import settings

    return settings.BASE_DIR
