-- wrk script: POST /v1/completions with token-id prompts (4 to 64 ids below 500, in every tiny test
-- model's vocabulary), 1 to 16 new tokens and a seed each, from 64 bodies made at start; done() prints
-- the answers counted by HTTP status ("statuses: 200=N 503=M") and latency percentiles.
-- Used by tests/engine/test_server_abuse.cpp and scripts/soak.sh.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  bodies = {}
  sent = 0
  math.randomseed(os.time() + #bodies)
  for i = 1, 64 do
    local ids = {}
    for k = 1, math.random(4, 64) do ids[k] = math.random(1, 499) end
    local body = string.format('{"prompt": [%s], "max_tokens": %d, "seed": %d}', table.concat(ids, ","),
                               math.random(1, 16), i)
    bodies[i] = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
  end
end

function request()
  sent = sent + 1
  return bodies[sent % #bodies + 1]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do total[status] = (total[status] or 0) + count end
  end
  local parts = {}
  for status, count in pairs(total) do table.insert(parts, status .. "=" .. count) end
  table.sort(parts)
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
  io.write(string.format("latency_ms: p50 %.1f p99 %.1f max %.1f\n", latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000, latency.max / 1000))
end
