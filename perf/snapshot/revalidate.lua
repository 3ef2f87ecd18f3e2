-- wrk script for perf/snapshot/snapshot_load.py --client wrk: every connection remembers the
-- last ETag it was sent and revalidates with If-None-Match, as a CDN or an nginx cache does.
-- Counts the answers by status per thread; done() prints them as one JSON line.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  etag = nil
  counts = {}
end

function request()
  if etag then
    return wrk.format("GET", nil, { ["If-None-Match"] = etag })
  end
  return wrk.format("GET", nil)
end

function response(status, headers, body)
  local k = tostring(status)
  counts[k] = (counts[k] or 0) + 1
  local e = headers["ETag"] or headers["etag"]
  if e then etag = e end
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, string.format('"%s": %d', k, v)) end
  io.write(string.format('WRK_JSON {"requests": %d, "secs": %.3f, "errors": %d, ' ..
    '"p99_ms": %.3f, "status": {%s}}\n', summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout, latency:percentile(99) / 1000,
    table.concat(parts, ", ")))
end
