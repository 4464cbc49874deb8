"""Errors that are the user's to fix: they become a message and exit code 2, never a traceback."""

from __future__ import annotations

from podfit.printable import one_line


class PodfitError(Exception):
    """Base class for every error caused by input (files, flags, schedulers under test)."""


class ManifestError(PodfitError):
    """A manifest that cannot be read: says where (file, document, object, field) and what."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        document: int | None = None,
        obj: str | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.document = document
        self.obj = obj
        self.field = field
        super().__init__(self.__str__())

    def located(
        self, *, source: str | None = None, document: int | None = None, obj: str | None = None
    ) -> ManifestError:
        """Return a copy that fills in whatever location this error does not know yet."""
        return ManifestError(
            self.message,
            source=self.source or source,
            document=self.document if self.document is not None else document,
            obj=self.obj or obj,
            field=self.field,
        )

    def __str__(self) -> str:
        # Every part may come from input (a file name, an object's name, a label key):
        # each is shown as one escaped line of bounded length.
        where = []
        if self.source:
            where.append(one_line(self.source))
        if self.document is not None:
            doc = f"document {self.document}"
            if self.obj:
                doc += f" ({one_line(self.obj, 120)})"
            where.append(doc)
        elif self.obj:
            where.append(one_line(self.obj, 120))
        if self.field:
            where.append(one_line(self.field))
        return ": ".join([*where, one_line(self.message, 400)])


class UsageError(PodfitError):
    """A command-line usage mistake (bad flag combination, unknown adapter, ...)."""
