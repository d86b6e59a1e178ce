-- wrk script for the calendar bench: each request carries fresh random 32-byte leaves,
-- {"leaves":["0x<64 hex>",…]} (as JSON.stringify writes it). `wrk … -s calendar-leaves.lua URL -- N`
-- sends N leaves per request (default 1); done() prints one WRKJSON line the bench reads.
local perRequest = 1
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  perRequest = tonumber(args[1] or "1")
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

local function leaf()
  return string.format('"0x%08x%08x%08x%08x%08x%08x%08x%08x"',
    math.random(0, 0xffffffff), math.random(0, 0xffffffff), math.random(0, 0xffffffff), math.random(0, 0xffffffff),
    math.random(0, 0xffffffff), math.random(0, 0xffffffff), math.random(0, 0xffffffff), math.random(0, 0xffffffff))
end

function request()
  local leaves = {}
  for i = 1, perRequest do leaves[i] = leaf() end
  return wrk.format("POST", nil, headers, '{"leaves":[' .. table.concat(leaves, ",") .. ']}')
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"durationUs":%d,"non2xx":%d,"errors":%d,"p50Us":%d,"p99Us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
