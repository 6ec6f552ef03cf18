"""Where a Lambda function's log can be read: the CloudWatch Logs console's page of one log stream."""

from __future__ import annotations

from urllib.parse import quote


def _console_escape(text: str) -> str:
    """The console reads its fragment URL-encoded twice, with `$` standing for the second encoding's `%`."""
    return quote(quote(text, safe=""), safe="").replace("%", "$")


def log_stream_url(function_arn: str, group: str, stream: str) -> str | None:
    """The console URL of `stream` in `group`, in the region of the function `function_arn` names; None when
    the ARN names no region."""
    parts = function_arn.split(":")
    region = parts[3] if len(parts) > 3 and parts[0] == "arn" else ""
    if not region or not group or not stream:
        return None
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:log-groups/log-group/{_console_escape(group)}/log-events/{_console_escape(stream)}"
    )
