"""fixtures/real/: copies of real provider recordings, with hand-judged sidecars.

The `.sse` files and INDEX.md are byte-for-byte copies of the shared corpus (from the Vercel AI
SDK repository, see fixtures/README.md); only the sidecars are written here, from the REAL
table. Written only when `--real SRC_DIR` names the corpus: the corpus is not in this checkout.
"""

from __future__ import annotations

from pathlib import Path

from .corpus import AS_GIVEN, sidecar_bytes

VERCEL_COMMIT = "ed857f50f112e23930b0c2dd8d532cc8bebbc911"
JUDGED = "to be judged"
FRK = "compat.finish-reason-key"
CID = "chunk.consistent-id"
# file -> (profile, fail, warn, expect_source). fail/warn follow INDEX.md's verdict column;
# where INDEX.md says "to be judged by the suite", expect_source says so for the lead to
# confirm; warnings INDEX.md does not name but the spec implies are listed with the reason.
REAL: dict[str, tuple[str, list[str], list[str], str]] = {
    "alibaba-reasoning.sse": ("sansa", [], [], JUDGED),
    "alibaba-text.sse": ("sansa", [], [], JUDGED),
    "alibaba-tool-call.sse": ("sansa", [], [FRK], JUDGED + "; compat.finish-reason-key added by inspection "
                              "(the 4th chunk's choice has no finish_reason key)"),
    "azure-deepseek-reasoning.1.sse": ("sansa", [], [CID], "INDEX.md"),
    "deepseek-reasoning.sse": ("sansa", [], [], JUDGED),
    "deepseek-text.sse": ("sansa", [], [], JUDGED),
    "deepseek-tool-call.sse": ("sansa", [], [], JUDGED),
    "groq-reasoning.sse": ("sansa", [], [CID], "INDEX.md"),
    "groq-text.sse": ("sansa", [], [CID], "INDEX.md"),
    "groq-tool-call.sse": ("sansa", [], [], JUDGED),
    "mistral-incremental-tool-call.sse": ("sansa", ["chunk.role-first"], [], "INDEX.md"),
    "mistral-reasoning.sse": ("sansa", ["chunk.schema", "compat.list-delta-index"], [],
                              "INDEX.md; compat.list-delta-index added by the revised spec (section 11, 2026-11-29): "
                              "delta.content is a list in three deltas and its entries have no index, so the OpenAI "
                              "Python SDK's stream() helper raises on the second"),
    "mistral-text.sse": ("sansa", [], [], JUDGED),
    "mistral-tool-call.sse": ("sansa", ["tools.index"], [], "INDEX.md"),
    "compat-anthropic-fallback-tool-call.sse": ("sansa", ["usage.present-last", "tools.index-dense", "sse.done"], [],
                                                "INDEX.md"),
    "compat-xai-text.sse": ("sansa", ["usage.totals"], [CID, FRK], "INDEX.md; compat.finish-reason-key added "
                            "by inspection (non-final choices omit the finish_reason key)"),
    "compat-xai-tool-call.sse": ("sansa", ["usage.totals"], [CID, FRK], "INDEX.md; compat.finish-reason-key "
                                 "added by inspection (non-final choices omit the finish_reason key)"),
    "azure-model-router.1.sse": ("openai", [], [], "INDEX.md"),
    "openai-text.sse": ("openai", [], [], "INDEX.md"),
    "perplexity-citations.sse": ("sansa", ["chunk.role-only-first", "usage.only-last", "chunk.schema"], [CID, FRK],
                                 "INDEX.md; added by inspection: chunk.consistent-id (two `created` values) "
                                 "and compat.finish-reason-key (non-final choices omit the key)"),
    "perplexity-text.sse": ("sansa", ["chunk.role-only-first", "usage.only-last", "chunk.schema"], [CID, FRK],
                            "INDEX.md; added by inspection: chunk.consistent-id (two `created` values) "
                            "and compat.finish-reason-key (non-final choices omit the key)"),
    "xai-text.sse": ("sansa", ["usage.totals"], [CID, FRK], "INDEX.md; compat.finish-reason-key added by "
                     "inspection (non-final choices omit the finish_reason key)"),
    "xai-tool-call.sse": ("sansa", ["usage.totals"], [CID, FRK], "INDEX.md; compat.finish-reason-key added by "
                          "inspection (non-final choices omit the finish_reason key)"),
}



def real_files(src: Path) -> dict[str, bytes]:
    """fixtures/real/ (paths relative to fixtures/): the corpus files, INDEX.md, one sidecar each."""
    index = (src / "INDEX.md").read_bytes()
    source_path = {}
    for line in index.decode("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 2 and cells[0].endswith(".sse"):
            source_path[cells[0]] = cells[1]
    files = sorted(p.name for p in src.glob("*.sse"))
    if sorted(REAL) != files or sorted(source_path) != files:
        raise SystemExit("the corpus and the REAL table list different files")
    out = {"real/INDEX.md": b"> Copied unchanged from the shared corpus (/work/shared/corpus/real/INDEX.md) "
                            b"below this line.\n\n" + index}
    for name in files:
        profile, fail, warn, how = REAL[name]
        out[f"real/{name}"] = (src / name).read_bytes()
        out[f"real/{name[:-len('.sse')]}.json"] = sidecar_bytes({
            "source": f"vercel/ai@{VERCEL_COMMIT}:{source_path[name]} (payloads byte-exact; SSE framing "
                      "and [DONE] reconstructed, see INDEX.md)",
            "profile": profile,
            "expect": {"fail": fail, "warn": warn},
            "expect_source": how,
        }, AS_GIVEN)
    return out
