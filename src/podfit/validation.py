"""The API server's validation of the fields scheduling reads, in its own words.

Syntax checks come from k8s.io/apimachinery (``util/validation``, ``api/validate/content``:
IsQualifiedName, IsValidLabelValue, IsDNS1123Subdomain, IsDNS1123Label, IsDNS1035Label),
resource names and the rules between fields from ``pkg/apis/core/validation``,
``pkg/apis/core/helper``, ``pkg/apis/policy/validation`` and
``pkg/apis/scheduling/validation``. Each ``*_problems`` function returns the problems
upstream would report (empty when valid), computed once per distinct value: loading a
dump checks the same label keys and resource names thousands of times.

Regular expressions are Go's: ``fullmatch`` (Go's ``^...$`` matches the whole text, where
Python's ``$`` would also accept a trailing newline), and lengths are counted in bytes of
UTF-8, as Go's ``len`` counts them.

:func:`invalid`, :func:`required`, :func:`unsupported`, :func:`duplicate` and
:func:`forbidden` word a problem as ``field.Error`` does (``Invalid value: "x": ...``), so
that podfit's message is the API server's own, located by file, document and field.

Rules that changed between the releases podfit models follow :func:`release`, the release
being loaded for (``podfit.load(..., kube_version=)``; the newest by default).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from functools import lru_cache

from podfit.printable import go_quoted, one_line
from podfit.versions import LATEST, KubeVersion

# --- the release being validated for -------------------------------------------------

VALIDATING_FOR: ContextVar[KubeVersion] = ContextVar("podfit_validating_for", default=LATEST)


def release() -> KubeVersion:
    """The Kubernetes release whose API server the objects being loaded are checked for."""
    return VALIDATING_FOR.get()


@contextlib.contextmanager
def validating_for(version: KubeVersion) -> Iterator[None]:
    """Within the block, objects are loaded as the API server of ``version`` stores them."""
    token = VALIDATING_FOR.set(version)
    try:
        yield
    finally:
        VALIDATING_FOR.reset(token)


#: From this release a Service's name is a DNS-1123 label (RelaxedServiceNameValidation
#: beta, on by default); before, a DNS-1035 label (it may not start with a digit).
RELAXED_SERVICE_NAMES_FROM = KubeVersion(1, 36)


# --- field.Error in words ---------------------------------------------------------------


def _value(value: object) -> str:
    if isinstance(value, str):
        return go_quoted(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return one_line(str(value), 80)


def invalid(value: object, detail: str) -> str:
    return f"Invalid value: {_value(value)}: {detail}"


def required(detail: str = "") -> str:
    return f"Required value: {detail}" if detail else "Required value"


def forbidden(detail: str) -> str:
    return f"Forbidden: {detail}"


def duplicate(value: object) -> str:
    return f"Duplicate value: {_value(value)}"


def unsupported(value: object, supported: Iterable[str]) -> str:
    choices = ", ".join(go_quoted(s) for s in supported)
    return f"Unsupported value: {_value(value)}: supported values: {choices}"


# --- syntax (apimachinery) --------------------------------------------------------------

_LABEL_KEY_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY_NAME = re.compile(_LABEL_KEY_NAME_FMT)
_LABEL_VALUE = re.compile(f"({_LABEL_KEY_NAME_FMT})?")
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_FMT = rf"{_DNS1123_LABEL_FMT}(\.{_DNS1123_LABEL_FMT})*"
_DNS1123_SUBDOMAIN = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL = re.compile(_DNS1035_LABEL_FMT)
_PORT_NAME_CHARSET = re.compile("[-a-z0-9]+")
_PERCENT = re.compile("[0-9]+%")

QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
TOTAL_ANNOTATION_SIZE_MAX = 256 * 1024
_CACHE = 1 << 16


def _nbytes(value: str) -> int:
    return len(value) if value.isascii() else len(value.encode("utf-8"))


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}'" for e in examples)
    return f"{message} (e.g. {shown}, regex used for validation is '{fmt}')"


def _max_len(length: int) -> str:
    return f"must be no more than {length} bytes"


_LABEL_KEY_MESSAGE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character"
)


@lru_cache(maxsize=_CACHE)
def _qualified_name(key: str) -> tuple[str, ...]:
    parts = key.split("/")
    errs: list[str] = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend(f"prefix part {p}" for p in _dns1123_subdomain(prefix))
    else:
        return (
            "a valid label key "
            + _regex_error(_LABEL_KEY_MESSAGE, _LABEL_KEY_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        )
    if not name:
        errs.append("name part must be non-empty")
    elif _nbytes(name) > QUALIFIED_NAME_MAX:
        errs.append(f"name part {_max_len(QUALIFIED_NAME_MAX)}")
    if not _LABEL_KEY_NAME.fullmatch(name):
        errs.append(
            "name part "
            + _regex_error(_LABEL_KEY_MESSAGE, _LABEL_KEY_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return tuple(errs)


def qualified_name_problems(key: str) -> list[str]:
    """IsQualifiedName: a label key, taint key, toleration key, topology key, annotation
    key: ``[prefix/]name``."""
    return list(_qualified_name(key))


@lru_cache(maxsize=_CACHE)
def _label_value(value: str) -> tuple[str, ...]:
    errs: list[str] = []
    if _nbytes(value) > LABEL_VALUE_MAX:
        errs.append(_max_len(LABEL_VALUE_MAX))
    if not _LABEL_VALUE.fullmatch(value):
        errs.append(
            _regex_error(
                "a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character",
                f"({_LABEL_KEY_NAME_FMT})?",
                "MyValue",
                "my_value",
                "12345",
            )
        )
    return tuple(errs)


def label_value_problems(value: str) -> list[str]:
    """IsValidLabelValue: a label value, taint value, toleration value, selector value."""
    return list(_label_value(value))


@lru_cache(maxsize=_CACHE)
def _dns1123_subdomain(value: str) -> tuple[str, ...]:
    errs: list[str] = []
    if _nbytes(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(_max_len(DNS1123_SUBDOMAIN_MAX))
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN_FMT,
                "example.com",
            )
        )
    return tuple(errs)


def dns1123_subdomain_problems(value: str) -> list[str]:
    return list(_dns1123_subdomain(value))


@lru_cache(maxsize=_CACHE)
def _dns1123_label(value: str) -> tuple[str, ...]:
    errs: list[str] = []
    if _nbytes(value) > DNS1123_LABEL_MAX:
        errs.append(_max_len(DNS1123_LABEL_MAX))
    if not _DNS1123_LABEL.fullmatch(value):
        if _DNS1123_SUBDOMAIN.fullmatch(value):
            errs.append("must not contain dots")
        else:
            errs.append(
                _regex_error(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                    "characters or '-', and must start and end with an alphanumeric character",
                    _DNS1123_LABEL_FMT,
                    "my-name",
                    "123-abc",
                )
            )
    return tuple(errs)


def dns1123_label_problems(value: str) -> list[str]:
    return list(_dns1123_label(value))


@lru_cache(maxsize=_CACHE)
def _dns1035_label(value: str) -> tuple[str, ...]:
    errs: list[str] = []
    if _nbytes(value) > DNS1123_LABEL_MAX:
        errs.append(_max_len(DNS1123_LABEL_MAX))
    if not _DNS1035_LABEL.fullmatch(value):
        errs.append(
            _regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character",
                _DNS1035_LABEL_FMT,
                "my-name",
                "abc-123",
            )
        )
    return tuple(errs)


def dns1035_label_problems(value: str) -> list[str]:
    return list(_dns1035_label(value))


def port_name_problems(name: str) -> list[str]:
    """IsValidPortName: at most 15 characters of a-z, 0-9 and '-', a letter among them, no
    '--', no '-' at either end."""
    errs = []
    if _nbytes(name) > 15:
        errs.append(_max_len(15))
    if not _PORT_NAME_CHARSET.fullmatch(name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not any("a" <= c <= "z" for c in name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def percent_problems(value: str) -> list[str]:
    """IsValidPercent: digits and a final '%'."""
    if _PERCENT.fullmatch(value):
        return []
    return [
        _regex_error(
            "a valid percent string must be a numeric string followed by an ending '%'",
            "[0-9]+%",
            "1%",
            "93%",
        )
    ]


# --- object names, per kind ---------------------------------------------------------------


def name_problems(kind: str, name: str) -> list[str]:
    """What the API server says of ``name`` for an object of ``kind`` (ValidateObjectMeta's
    name function): a DNS-1123 subdomain for most kinds, a DNS-1123 label for Namespaces
    and StatefulSets, a DNS-1035 label for Services before 1.36 (a DNS-1123 label since)."""
    if kind in ("Namespace", "StatefulSet"):
        return dns1123_label_problems(name)
    if kind == "Service":
        if release() >= RELAXED_SERVICE_NAMES_FROM:
            return dns1123_label_problems(name)
        return dns1035_label_problems(name)
    return dns1123_subdomain_problems(name)


# --- resource names (pkg/apis/core/helper) -------------------------------------------------

HUGEPAGES_PREFIX = "hugepages-"
_REQUESTS_PREFIX = "requests."
_NATIVE_PREFIX = "kubernetes.io/"
_STANDARD_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
_STANDARD_RESOURCES = frozenset(
    {
        "cpu",
        "memory",
        "ephemeral-storage",
        "requests.cpu",
        "requests.memory",
        "requests.ephemeral-storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "pods",
        "resourcequotas",
        "services",
        "replicationcontrollers",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "storage",
        "requests.storage",
        "services.nodeports",
        "services.loadbalancers",
    }
)
_STANDARD_QUOTA_RESOURCES = (_STANDARD_RESOURCES - {"storage"}) | {"persistentvolumeclaims"}
_INTEGER_RESOURCES = frozenset(
    {
        "pods",
        "resourcequotas",
        "services",
        "replicationcontrollers",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "services.nodeports",
        "services.loadbalancers",
    }
)


def is_native(name: str) -> bool:
    """In the kubernetes.io/ domain (an unprefixed name is)."""
    return "/" not in name or _NATIVE_PREFIX in name


def is_hugepages(name: str) -> bool:
    return name.startswith(HUGEPAGES_PREFIX)


@lru_cache(maxsize=_CACHE)
def is_extended(name: str) -> bool:
    """An extended resource: outside kubernetes.io/, not ``requests.``-prefixed, and a
    qualified name once ``requests.`` is put in front (as quota names it)."""
    if is_native(name) or name.startswith(_REQUESTS_PREFIX):
        return False
    return not _qualified_name(_REQUESTS_PREFIX + name)


def overcommit_allowed(name: str) -> bool:
    """Requests may be below limits: native resources but hugepages."""
    return is_native(name) and not is_hugepages(name)


def is_integer_resource(name: str) -> bool:
    return name in _INTEGER_RESOURCES or is_extended(name)


@lru_cache(maxsize=_CACHE)
def _resource_name(name: str) -> tuple[str, ...]:
    errs = _qualified_name(name)
    if errs:
        return errs
    is_standard = name in _STANDARD_RESOURCES or is_hugepages(name)
    is_standard = is_standard or name.startswith(_REQUESTS_PREFIX + HUGEPAGES_PREFIX)
    if "/" not in name and not is_standard:
        return ("must be a standard resource type or fully qualified",)
    return ()


def resource_name_problems(name: str) -> list[str]:
    """validateResourceName: a standard resource or a fully qualified one."""
    return list(_resource_name(name))


@lru_cache(maxsize=_CACHE)
def _container_resource_name(name: str) -> tuple[str, ...]:
    errs = list(_resource_name(name))
    if "/" not in name:
        if name not in _STANDARD_CONTAINER_RESOURCES and not is_hugepages(name):
            errs.append("must be a standard resource for containers")
    elif not is_native(name) and not is_extended(name):
        errs.append("doesn't follow extended resource name standard")
    return tuple(errs)


def container_resource_name_problems(name: str) -> list[str]:
    """validateContainerResourceName: cpu, memory, ephemeral-storage, hugepages-*, or an
    extended resource (``example.com/gpu``)."""
    return list(_container_resource_name(name))


def pod_resource_name_problems(name: str) -> list[str]:
    """validatePodResourceName: pod-level resources are cpu, memory and hugepages-*."""
    errs = resource_name_problems(name)
    if errs:
        return errs
    if name not in ("cpu", "memory") and not is_hugepages(name):
        return [
            f"supported values: {go_quoted('cpu')}, {go_quoted('hugepages-')}, "
            f"{go_quoted('memory')}"
        ]
    return []


def quota_resource_name_problems(name: str) -> list[str]:
    """ValidateResourceQuotaResourceName."""
    errs = resource_name_problems(name)
    if "/" not in name:
        quota_hugepages = is_hugepages(name) or name.startswith(_REQUESTS_PREFIX + HUGEPAGES_PREFIX)
        if name not in _STANDARD_QUOTA_RESOURCES and not quota_hugepages:
            errs.append("must be a standard resource for quota")
    return errs


# --- priority classes (pkg/apis/scheduling) ----------------------------------------------

#: The system classes every cluster has, and their values.
SYSTEM_PRIORITY_CLASSES = {
    "system-node-critical": 2000001000,
    "system-cluster-critical": 2000000000,
}
HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000


def priority_class_problems(name: str, value: int, global_default: bool) -> list[tuple[str, str]]:
    """(field, message) for a PriorityClass: a ``system-`` name must be one of the system
    classes exactly; any other may not go above 1000000000."""
    if name.startswith("system-"):
        known = SYSTEM_PRIORITY_CLASSES.get(name)
        if known is None:
            why = f"{name} is not a known system priority class"
        elif value != known:
            why = f"value of {name} PriorityClass must be {known}"
        elif global_default:
            why = f"globalDefault of {name} PriorityClass must be false"
        else:
            return []
        return [
            (
                "metadata.name",
                forbidden(
                    "priority class names with 'system-' prefix are reserved for system use "
                    f"only. error: {why}"
                ),
            )
        ]
    if value > HIGHEST_USER_DEFINABLE_PRIORITY:
        return [
            (
                "value",
                forbidden(
                    "maximum allowed value of a user defined priority is "
                    f"{HIGHEST_USER_DEFINABLE_PRIORITY}"
                ),
            )
        ]
    return []
