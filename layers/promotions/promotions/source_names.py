"""An event source's name, as promotions.sources registers it: it appears in the webhook's URL path, the bus
event's detail-type, GitPush.provider and the payload bucket's keys.

Apart from promotions.push, whose models need pydantic: the webhook checks source names and reads no push."""

import re

SOURCE_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")
