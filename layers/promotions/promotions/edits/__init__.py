"""Promote properties from one environment's file into another's, changing nothing else in the target.

A PromotionTemplate names, per file, the JSONPaths (RFC 9535) whose values travel from the source environment
to the target environment, and where the release version is read. Both documents are parsed once with
ruamel.yaml's round-trip loader, which yields the constructed values (what the JSONPaths query) and the node
tree with the character position of every node. Each promoted value is then spliced into the target *text*:
only the characters of a replaced value, or of an inserted key, change. Re-serialising the whole document
could not promise that: it re-indents, re-wraps and re-spaces everything it does not understand exactly.

Promoted values are copied as the source writes them (comments, quoting and block style included), shifted to
the target's indentation. JSON files (`.json`) get JSON rendered with the target's indentation instead.

The package's parts, by job: `document` (parsing, and where each value's text sits), `rendering` (a value as
YAML or JSON text for its place in the target), `planning` (which values travel, and the text edits writing
them, of the kinds in `writes`), `verification` (the edited file read back), `promote` and `version` (the two
entry points), and `changes` (what a promotion would write, property by property, for a dry run).
"""

from .changes import PropertyChange, property_changes
from .errors import EditError
from .promote import WHOLE_FILE, promote_properties
from .version import read_version

__all__ = [
    "WHOLE_FILE",
    "EditError",
    "PropertyChange",
    "promote_properties",
    "property_changes",
    "read_version",
]
