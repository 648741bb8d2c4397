#!/usr/bin/env python3
"""Hugging Face transformers baseline for `aidc-engine bench`: the same architecture (random bf16
weights, eager attention) on the same GPU, decode tokens/s after a prompt of --context tokens.
Usage: python3 scripts/engine/hf_baseline.py --model scenarios/catalog/models/deepseek-llm-7b.json --batches 1,32 --json out.json
"""
import argparse
import json
import time

import torch
import transformers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    with open(args.model) as f:
        cfg = json.load(f)
    cfg.pop("auto_map", None)
    config = transformers.AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16).eval()
    results = []
    for batch in [int(b) for b in args.batches.split(",")]:
        ids = torch.randint(0, config.vocab_size, (batch, args.context), device="cuda")
        with torch.no_grad():
            out = model(ids, use_cache=True)
            past, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            for _ in range(3):  # warm-up
                out = model(nxt, past_key_values=past, use_cache=True)
                past, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(args.steps):
                out = model(nxt, past_key_values=past, use_cache=True)
                past, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            torch.cuda.synchronize()
            dt = (time.perf_counter() - t0) / args.steps
        results.append(dict(batch=batch, step_ms=dt * 1e3, tokens_per_s=batch / dt))
        print(f"HF transformers eager bf16 batch {batch}: {dt * 1e3:.2f} ms/step, {batch / dt:.1f} tokens/s", flush=True)
        del past, out
        torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(model=args.model, transformers=transformers.__version__, torch=torch.__version__,
                           gpu=torch.cuda.get_device_name(0), context=args.context, results=results), f, indent=1)


if __name__ == "__main__":
    main()
