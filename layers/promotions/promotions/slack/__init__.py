"""Slack behind one adapter: approval messages (Block Kit, through slack-sdk's WebClient, `client`), user
groups, and the interaction callback's signature and payloads (`interactions`). Nothing outside this package
reads Slack's wire format. `messages` imports no slack-sdk, for those that only describe a message."""
