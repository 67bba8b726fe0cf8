"""The agents' tools served over the Model Context Protocol: `python -m demo_app.mcp_tools`."""
