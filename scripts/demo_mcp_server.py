"""A small stdio MCP server for the README's screenshots: a weather tool with canned data."""

from __future__ import annotations

import json

from mcp.server.mcpserver import MCPServer

server = MCPServer("demo-weather", version="1.0")

FORECASTS = {
    "kazan": {"city": "Kazan", "today": "+4 °C, light rain", "tomorrow": "+7 °C, clouds", "wind_m_s": 5},
    "moscow": {
        "city": "Moscow",
        "today": "+2 °C, snow showers",
        "tomorrow": "+1 °C, overcast",
        "wind_m_s": 4,
    },
}


@server.tool()
def forecast(city: str) -> str:
    """Today's and tomorrow's weather for a city."""
    found = next((f for key, f in FORECASTS.items() if key in city.lower()), None)
    if found is None:
        raise ValueError(f"no forecast for {city!r}")
    return json.dumps(found, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    server.run("stdio")
