#!/usr/bin/env python3
"""Parity of aidc-engine with Hugging Face transformers, a reference nobody here wrote.

For each architecture: build a tiny random model with transformers, round its weights to bf16, save
them as safetensors under HF tensor names, run transformers (fp32, eager attention) on a prompt, run
`aidc-engine logits` on the same file, and compare every position's logits by ||ours - hf|| / ||hf||.
Exit status 1 when any comparison exceeds the bound. Usage:
  python3 scripts/hf_parity.py --engine build/bin/aidc-engine --out parity.md [--backend gpu]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.torch import save_file

BOUND = 2e-2
COMMON = dict(vocab_size=512, num_hidden_layers=2, rms_norm_eps=1e-6, max_position_embeddings=2048,
              tie_word_embeddings=False, rope_theta=10000.0)

# Tiny DeepseekV3: MLA with q LoRA, 16 experts in 4 groups, sigmoid routing with bias correction.
V3_TINY = dict(COMMON, model_type="deepseek_v3",
               hidden_size=128, intermediate_size=256, num_hidden_layers=3, num_attention_heads=4,
               num_key_value_heads=4, q_lora_rank=96, kv_lora_rank=64, qk_nope_head_dim=32,
               qk_rope_head_dim=16, v_head_dim=32, head_dim=16, moe_intermediate_size=64,
               n_routed_experts=16, n_shared_experts=1, num_experts_per_tok=4, n_group=4, topk_group=2,
               first_k_dense_replace=1, norm_topk_prob=True, routed_scaling_factor=2.5,
               scoring_func="sigmoid", topk_method="noaux_tc", rope_interleave=True)

# name -> (transformers class names, config dict, engine backends to compare)
CASES = {
    "llama-gqa": ("LlamaConfig", "LlamaForCausalLM", dict(COMMON, model_type="llama", hidden_size=256,
                  intermediate_size=512, num_attention_heads=4, num_key_value_heads=2, head_dim=64), ["gpu", "cpu"]),
    "llama3-rope": ("LlamaConfig", "LlamaForCausalLM", dict(COMMON, model_type="llama", hidden_size=256,
                    intermediate_size=384, num_attention_heads=2, num_key_value_heads=1, rope_theta=500000.0,
                    rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                      original_max_position_embeddings=64)), ["gpu", "cpu"]),
    "qwen2-bias": ("Qwen2Config", "Qwen2ForCausalLM", dict(COMMON, model_type="qwen2", hidden_size=448,
                   intermediate_size=512, num_attention_heads=7, num_key_value_heads=1), ["gpu", "cpu"]),
    "deepseek-v3-mla-moe": ("DeepseekV3Config", "DeepseekV3ForCausalLM", V3_TINY, ["gpu", "cpu"]),
    # V3 with every expert chosen (8 of 8, one group): the routing choice cannot flip under rounding,
    # so the GPU row checks MLA with q LoRA and the sigmoid, normalised, scaled weights alone.
    "deepseek-v3-all-experts": ("DeepseekV3Config", "DeepseekV3ForCausalLM",
                                dict(V3_TINY, n_routed_experts=8, num_experts_per_tok=8, n_group=1, topk_group=1),
                                ["gpu", "cpu"]),
    "deepseek-v2-mla-moe": ("DeepseekV2Config", "DeepseekV2ForCausalLM", dict(COMMON, model_type="deepseek_v2",
                            hidden_size=128, intermediate_size=256, num_attention_heads=4, num_key_value_heads=4,
                            q_lora_rank=None, kv_lora_rank=64, qk_nope_head_dim=32, qk_rope_head_dim=16, v_head_dim=32,
                            head_dim=16, moe_intermediate_size=64, n_routed_experts=8, n_shared_experts=2,
                            num_experts_per_tok=3, first_k_dense_replace=1, norm_topk_prob=False,
                            routed_scaling_factor=1.0, scoring_func="softmax", topk_method="greedy",
                            n_group=1, topk_group=1), ["gpu", "cpu"]),
}


def checkpoint_tensors(model, cfg):
    """State dict under the original checkpoint names: fused expert tensors (transformers 5) split per expert."""
    out = {}
    for name, t in model.state_dict().items():
        t = t.detach().to(torch.bfloat16).cpu().contiguous()
        if name.endswith("mlp.experts.gate_up_proj") or name.endswith("mlp.experts.down_proj"):
            base = name.rsplit(".", 1)[0]
            inter, hidden = cfg["moe_intermediate_size"], cfg["hidden_size"]
            for e in range(t.shape[0]):
                w = t[e]
                if name.endswith("gate_up_proj"):
                    w = w if w.shape[0] == 2 * inter else w.t()
                    out[f"{base}.{e}.gate_proj.weight"] = w[:inter].contiguous()
                    out[f"{base}.{e}.up_proj.weight"] = w[inter:].contiguous()
                else:
                    out[f"{base}.{e}.down_proj.weight"] = (w if w.shape[0] == hidden else w.t()).contiguous()
            continue
        out[name] = t
    if cfg.get("tie_word_embeddings"):
        out.pop("lm_head.weight", None)
    return out


def run_case(name, engine, workdir, device, backends):
    import transformers
    config_cls, model_cls, cfg, allowed = CASES[name]
    torch.manual_seed(1234)
    hf_cfg = getattr(transformers, config_cls)(**cfg)
    hf_cfg._attn_implementation = "eager"
    model = getattr(transformers, model_cls)(hf_cfg).float().eval()
    with torch.no_grad():
        for p in model.parameters():  # random init is N(0, 0.02): scale up so logits are not flat
            p.copy_((p * (1.0 if p.dim() == 1 else 4.0)).to(torch.bfloat16).float())
        for n, b in model.named_buffers():
            if "e_score_correction_bias" in n:
                b.copy_((torch.rand_like(b) * 0.1).to(torch.bfloat16).float())
    folder = os.path.join(workdir, name)
    os.makedirs(folder, exist_ok=True)
    save_file(checkpoint_tensors(model, cfg), os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(dict(cfg, architectures=[model_cls]), f, indent=1)
    tokens = [(i * 37 + 11) % cfg["vocab_size"] for i in range(48)]
    model = model.to(device)
    with torch.no_grad():
        hf = model(torch.tensor([tokens], device=device)).logits[0].float().cpu().numpy()
    results = []
    for backend in [b for b in backends if b in allowed]:
        out_file = os.path.join(folder, f"logits-{backend}.bin")
        cmd = [engine, "logits", "--model", os.path.join(folder, "config.json"), "--weights", folder,
               "--tokens", ",".join(map(str, tokens)), "--out", out_file, "--backend", backend]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            results.append((name, backend, float("nan"), False, run.stderr.strip()[-300:]))
            continue
        ours = np.fromfile(out_file, dtype=np.float32).reshape(hf.shape)
        err = float(np.linalg.norm(ours - hf) / np.linalg.norm(hf))
        same_argmax = float((ours.argmax(-1) == hf.argmax(-1)).mean())
        results.append((name, backend, err, err < BOUND, f"argmax agreement {same_argmax:.3f} over {len(tokens)} positions"))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", default="build/bin/aidc-engine")
    ap.add_argument("--out", default="parity.md")
    ap.add_argument("--backend", action="append", help="gpu and/or cpu (default both)")
    ap.add_argument("--cases", default=",".join(CASES))
    args = ap.parse_args()
    import transformers
    device = "cuda" if torch.cuda.is_available() else "cpu"
    backends = args.backend or ["gpu", "cpu"]
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.cases.split(","):
            try:
                rows += run_case(name, args.engine, work, device, backends)
            except Exception as e:  # a transformers API difference must not hide the other cases
                rows.append((name, "-", float("nan"), False, f"{type(e).__name__}: {str(e)[:300]}"))
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    lines = [f"transformers {transformers.__version__}, torch {torch.__version__}, {gpu}; bound {BOUND}", "",
             "| case | engine backend | rel. error | pass | note |", "|---|---|---|---|---|"]
    lines += [f"| {n} | {b} | {e:.2e} | {'yes' if ok else 'NO'} | {note} |" for n, b, e, ok, note in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(args.out, "w") as f:
        f.write(text)
    sys.exit(0 if rows and all(r[3] for r in rows) else 1)


if __name__ == "__main__":
    main()
