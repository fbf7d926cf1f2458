# Reading the node's JSON files (board.json, config.json): one place for the open, the parse and the
# one-line errors, raised as the caller's exception class (BoardError, ConfigError).
try:
    import json
except ImportError:  # pragma: no cover
    import ujson as json  # type: ignore[no-redef]


def load_object(path, error, missing="not found"):
    """The JSON object in `path`; error("<path>: <problem>") when it is missing, not JSON or not an object."""
    try:
        with open(path) as f:
            raw = json.load(f)
    except OSError:
        raise error("%s: %s" % (path, missing))
    except ValueError as e:
        raise error("%s: not valid JSON (%s)" % (path, e))
    if not isinstance(raw, dict):
        raise error("%s: must hold a JSON object" % path)
    return raw
