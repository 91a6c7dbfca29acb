"""aiohttp adapter: health endpoints now, the Meta webhook later."""
