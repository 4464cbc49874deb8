"""Syntax checks the API server applies to names, label keys and label values.

Taken from k8s.io/apimachinery/pkg/util/validation (IsQualifiedName, IsValidLabelValue,
IsDNS1123Subdomain). Each function returns a list of problems; empty means valid.
"""

from __future__ import annotations

import re

_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"^{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*$")

QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253


def qualified_name_problems(key: str) -> list[str]:
    """Problems with a label key or annotation key: `[prefix/]name`."""
    prefix, sep, name = key.rpartition("/")
    problems: list[str] = []
    if sep and not prefix:
        problems.append("prefix part must be non-empty")
    elif sep:
        problems.extend(f"prefix part {p}" for p in dns1123_subdomain_problems(prefix))
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > QUALIFIED_NAME_MAX:
        problems.append(f"name part must be no more than {QUALIFIED_NAME_MAX} characters")
    elif not _NAME_PART.match(name):
        problems.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
    return problems


def label_value_problems(value: str) -> list[str]:
    if len(value) > LABEL_VALUE_MAX:
        return [f"must be no more than {LABEL_VALUE_MAX} characters"]
    if value and not _NAME_PART.match(value):
        return [
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character"
        ]
    return []


def dns1123_subdomain_problems(value: str) -> list[str]:
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        return [f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters"]
    if not _DNS1123_SUBDOMAIN.match(value):
        return [
            "must be a lowercase RFC 1123 subdomain: lower-case alphanumeric characters, "
            "'-' or '.', starting and ending with an alphanumeric character"
        ]
    return []
