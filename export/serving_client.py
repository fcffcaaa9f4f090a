"""Reads pages through TF Serving: a client of the SavedModel that ``keras-textnet export`` writes.

    python export/serving_client.py page.png                     # localhost:8501, model textnet
    python export/serving_client.py a.png b.jpg --server http://host:8501 --model textnet
    python export/serving_client.py page.png --json              # lines with boxes and scores

Sends the image files, as they are (PNG or JPEG bytes), in one request to the REST predict
endpoint ``POST {server}/v1/models/{model}[/versions/{version}]:predict``, signature
``serving_default`` (input ``images``: ``(B,)`` encoded files, base64 in the JSON), and prints
the text of each page: its lines top to bottom (then left to right), pages separated by a
form feed, as ``keras-textnet read`` does; ``--json`` prints, per page, the lines with their
boxes ``[x0, y0, x1, y1]`` in the image's pixels and their scores.

The standard library only (``urllib``, ``json``, ``base64``): copy this file anywhere.
The server side, the model's signatures and outputs: ``export/README.md`` and
``docs/export.md``; the exporter: ``keras_textnet/export/saved_model.py``.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_SERVER = "http://localhost:8501"
DEFAULT_MODEL = "textnet"

#: The signature that takes encoded image files (``serve_images`` takes uint8 pixels).
SIGNATURE = "serving_default"

#: The outputs this client reads (all of them are outputs of both signatures).
OUTPUTS_READ = ("boxes", "scores", "count", "transcriptions", "text_scores", "image_size")


class ServingError(RuntimeError):
    """The server refused the request or answered something that is not a prediction."""


def predict_url(server: str = DEFAULT_SERVER, model: str = DEFAULT_MODEL,
                version: int | None = None) -> str:
    """The REST predict endpoint of ``model`` (its newest version unless ``version``)."""
    url = f"{server.rstrip('/')}/v1/models/{model}"
    if version is not None:
        url += f"/versions/{int(version)}"
    return url + ":predict"


def build_request(images, signature: str = SIGNATURE) -> bytes:
    """The JSON body of a predict request for ``images``, a list of encoded files (bytes).

    The columnar (``inputs``) form: the response then holds ``outputs``, each a batch.
    """
    encoded = [{"b64": base64.b64encode(bytes(data)).decode("ascii")} for data in images]
    return json.dumps({"signature_name": signature, "inputs": {"images": encoded}}).encode()


def parse_response(body, min_score: float = 0.0) -> list[dict]:
    """The pages of a predict response: ``[{"width", "height", "lines": [...]}]``, in order.

    Each line is ``{"text", "box": [x0, y0, x1, y1], "score", "text_score"}``, box in the
    image's pixels; rows past ``count``, blank lines and lines scored under ``min_score`` are
    left out; lines go top to bottom, then left to right. Reads the columnar (``outputs``)
    and the row (``predictions``) forms.

    Raises:
        ServingError: the body is an ``{"error": ...}``, not JSON, or lacks an output.
    """
    try:
        answer = json.loads(body)
    except (TypeError, ValueError) as e:
        raise ServingError(f"the server's answer is not JSON ({e}): {str(body)[:200]!r}") \
            from None
    if not isinstance(answer, dict):
        raise ServingError(f"the server's answer is not a JSON object: {str(body)[:200]!r}")
    if "error" in answer:
        raise ServingError(f"the server refused the request: {answer['error']}")
    if "outputs" in answer:
        columns = answer["outputs"]
        missing = [name for name in OUTPUTS_READ if name not in columns]
        if missing:
            raise ServingError(f"the response lacks the outputs {missing}; is this a "
                               f"keras_textnet SavedModel (signature {SIGNATURE})?")
        rows = [{name: columns[name][i] for name in OUTPUTS_READ}
                for i in range(len(columns["count"]))]
    elif "predictions" in answer:
        rows = answer["predictions"]
        missing = sorted({name for row in rows for name in OUTPUTS_READ if name not in row})
        if missing:
            raise ServingError(f"the response lacks the outputs {missing}; is this a "
                               f"keras_textnet SavedModel (signature {SIGNATURE})?")
    else:
        raise ServingError(f"the answer holds neither outputs nor predictions: "
                           f"{sorted(answer)}")
    return [_page(row, min_score) for row in rows]


def _page(row: dict, min_score: float) -> dict:
    height, width = (int(v) for v in row["image_size"])
    lines = []
    for d in range(int(row["count"])):
        text = row["transcriptions"][d]
        if isinstance(text, dict):  # binary strings come base64-encoded
            text = base64.b64decode(text["b64"]).decode("utf-8", "replace")
        score = float(row["scores"][d])
        if not text.strip() or score < min_score:
            continue
        y0, x0, y1, x1 = (float(v) for v in row["boxes"][d])
        lines.append({"text": text, "box": [round(x0, 1), round(y0, 1), round(x1, 1),
                                            round(y1, 1)],
                      "score": round(score, 4),
                      "text_score": round(float(row["text_scores"][d]), 4)})
    lines.sort(key=lambda line: (line["box"][1], line["box"][0]))
    return {"width": width, "height": height, "lines": lines}


def read_pages(images, url: str, timeout: float = 120.0, min_score: float = 0.0) -> list[dict]:
    """Sends ``images`` (encoded files, bytes) to ``url`` in one request; their pages.

    Raises:
        ServingError: the server cannot be reached, refused the request, or answered
            something else than a prediction (the message says which).
    """
    request = urllib.request.Request(url, data=build_request(images), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as e:  # TF Serving says why in {"error": ...}
        body = e.read()
        try:
            parse_response(body)
        except ServingError as refused:
            raise ServingError(f"{url}: HTTP {e.code}: {refused}") from None
        raise ServingError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise ServingError(f"{url}: cannot reach the server ({reason}); is TF Serving "
                           f"running (export/README.md)?") from None
    return parse_response(body, min_score=min_score)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="+", help="PNG or JPEG files")
    parser.add_argument("--server", default=DEFAULT_SERVER,
                        help=f"TF Serving's REST address (default {DEFAULT_SERVER})")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"the served model's name (default {DEFAULT_MODEL})")
    parser.add_argument("--version", type=int, help="a model version (default: the newest)")
    parser.add_argument("--min-score", type=float, default=0.0,
                        help="leave out lines scored below this")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds (default 120)")
    parser.add_argument("--json", action="store_true",
                        help="print the pages as JSON: lines with boxes and scores")
    args = parser.parse_args(argv)

    data = []
    for name in args.images:
        try:
            data.append(Path(name).read_bytes())
        except OSError as e:
            print(f"serving_client: {name}: cannot be read ({e.strerror or e})", file=sys.stderr)
            return 2
    url = predict_url(args.server, args.model, args.version)
    try:
        pages = read_pages(data, url, timeout=args.timeout, min_score=args.min_score)
    except ServingError as e:
        print(f"serving_client: {e}", file=sys.stderr)
        return 1
    if args.json:
        pages = [{"file": name, **page} for name, page in zip(args.images, pages)]
        print(json.dumps(pages[0] if len(pages) == 1 else pages, indent=1))
    else:
        print("\f\n".join("\n".join(line["text"] for line in page["lines"]) for page in pages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
