-- wrk script for slakeeper's Alertmanager webhook ingestion benchmark.
--
--   wrk -t2 -c32 -d10s --timeout 10s -s ingest.lua \
--       http://127.0.0.1:PORT/api/v1/webhooks/alertmanager -- SCENARIO [MAX_REQUESTS_PER_THREAD]
--
-- Scenarios (see README.md): new, dup, batch, resolve. A thread stops after
-- MAX_REQUESTS_PER_THREAD responses (0 or absent: only wrk's -d bounds the run).
-- done() prints one line, "RESULT {json}", which benchmarks/ingest.py parses.

local ffi = require("ffi")

ffi.cdef [[
struct slakeeper_bench_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clock_id, struct slakeeper_bench_timespec *tp);
]]

local CLOCK_MONOTONIC = 1
local timespec = ffi.new("struct slakeeper_bench_timespec")

-- wrk's summary.duration always covers the whole -d, even when every thread stopped
-- early at its request limit, so threads time themselves for an honest rate.
local function now_us()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
   return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

local ALERTS_PER_REQUEST = { new = 1, dup = 1, batch = 50, resolve = 1 }
-- First hex digit of generated fingerprints: scenarios never collide with each other,
-- since one server (one database) runs them all in turn.
local NIBBLE = { new = "1", batch = "2", resolve = "3" }
local DUP_POOL_SIZE = 100
local BATCH_POOL_SIZE = 500
local BATCH_NEW = 25
local BATCH_FROM_POOL = 25

local STARTS_AT = "2026-11-21T22:58:01.778Z"
local ENDS_AT = "2026-11-21T23:03:01.778Z"
local NO_END = "0001-01-01T00:00:00Z"

local ENVELOPE_HEAD = '{"receiver":"bench","status":"'
local ENVELOPE_ALERTS = '","alerts":['
local ENVELOPE_TAIL = '],"groupLabels":{"alertname":"BenchAlert"},"commonLabels":{},'
   .. '"commonAnnotations":{},"externalURL":"http://am:9093","version":"4",'
   .. '"groupKey":"{}:{alertname=\\"BenchAlert\\"}","truncatedAlerts":0}'

-- Main (setup/done) environment only.
local threads = {}

-- Thread environments: set by setup() and init(), read back by done().
id = 0
responses = 0
started_us = 0
stopped_us = 0
statuses = {}
sample_error = ""
scenario = "new"

local max_requests
local counter = 0
local dup_pool
local batch_pool
local pool_cursor = 0
local resolve_pending

local function alert(status, fingerprint, ends_at)
   return '{"status":"' .. status
      .. '","labels":{"alertname":"BenchAlert","instance":"host-' .. fingerprint
      .. ':9100","job":"node","service":"bench","severity":"warning"},'
      .. '"annotations":{"summary":"benchmark alert"},"startsAt":"' .. STARTS_AT
      .. '","endsAt":"' .. ends_at
      .. '","generatorURL":"http://prom/graph","fingerprint":"' .. fingerprint .. '"}'
end

local function envelope(status, alerts)
   return ENVELOPE_HEAD .. status .. ENVELOPE_ALERTS .. alerts .. ENVELOPE_TAIL
end

local function unique_fingerprint()
   counter = counter + 1
   -- 1 scenario digit + 3 thread digits + 12 counter digits = 16 hex digits.
   return string.format("%s%03x%012x", NIBBLE[scenario], id, counter)
end

local function fixed_pool(prefix, size)
   local pool = {}
   for i = 1, size do
      pool[i] = alert("firing", string.format("%s%015x", prefix, i), NO_END)
   end
   return pool
end

local function next_from(pool)
   pool_cursor = pool_cursor % #pool + 1
   return pool[pool_cursor]
end

local function body_new()
   return envelope("firing", alert("firing", unique_fingerprint(), NO_END))
end

local function body_dup()
   return envelope("firing", next_from(dup_pool))
end

local function body_batch()
   local parts = {}
   for i = 1, BATCH_NEW do
      parts[i] = alert("firing", unique_fingerprint(), NO_END)
   end
   for i = 1, BATCH_FROM_POOL do
      parts[BATCH_NEW + i] = next_from(batch_pool)
   end
   return envelope("firing", table.concat(parts, ","))
end

local function body_resolve()
   if resolve_pending then
      local fingerprint = resolve_pending
      resolve_pending = nil
      return envelope("resolved", alert("resolved", fingerprint, ENDS_AT))
   end
   resolve_pending = unique_fingerprint()
   return envelope("firing", alert("firing", resolve_pending, NO_END))
end

local BODIES = { new = body_new, dup = body_dup, batch = body_batch, resolve = body_resolve }
local build_body

function setup(thread)
   thread:set("id", #threads)
   threads[#threads + 1] = thread
end

function init(args)
   scenario = args[1] or "new"
   build_body = BODIES[scenario]
   if not build_body then
      io.stderr:write("ingest.lua: unknown scenario '" .. scenario
         .. "' (expected new, dup, batch or resolve)\n")
      os.exit(2)
   end
   max_requests = tonumber(args[2] or "0") or 0
   dup_pool = fixed_pool("d", DUP_POOL_SIZE)
   batch_pool = fixed_pool("b", BATCH_POOL_SIZE)
   -- Threads start at different places in the shared pools, so they do not send the
   -- same alert at the same moment (which would only measure row-lock contention).
   pool_cursor = (id * 37) % DUP_POOL_SIZE
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   if started_us == 0 then
      started_us = now_us()
   end
   return wrk.format(nil, nil, nil, build_body())
end

function response(status, headers, body)
   responses = responses + 1
   statuses[status] = (statuses[status] or 0) + 1
   if status >= 300 and sample_error == "" then
      sample_error = status .. " " .. string.sub(body or "", 1, 300)
   end
   if max_requests > 0 and responses >= max_requests and stopped_us == 0 then
      stopped_us = now_us()
      wrk.thread:stop()
   end
end

local function json_string(text)
   local escaped = string.gsub(text, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end)
   return '"' .. escaped .. '"'
end

-- Effective duration: from the first request to the last thread's stop, unless a thread
-- ran until wrk's -d ended (then wrk's own duration is the right one).
local function effective_duration_us(summary)
   local first, last = nil, 0
   for _, thread in ipairs(threads) do
      local started, stopped = thread:get("started_us"), thread:get("stopped_us")
      if stopped == 0 then
         return summary.duration, false
      end
      first = (first == nil or started < first) and started or first
      last = stopped > last and stopped or last
   end
   if first == nil then
      return summary.duration, false
   end
   return last - first, true
end

local function merged_statuses()
   local merged, parts = {}, {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         merged[status] = (merged[status] or 0) + count
      end
   end
   for status, count in pairs(merged) do
      parts[#parts + 1] = string.format('"%d":%d', status, count)
   end
   return "{" .. table.concat(parts, ",") .. "}"
end

local function first_sample_error()
   for _, thread in ipairs(threads) do
      local sample = thread:get("sample_error")
      if sample ~= "" then
         return sample
      end
   end
   return ""
end

function done(summary, latency, requests)
   local duration_us, limited = effective_duration_us(summary)
   local errors = summary.errors
   local scenario_name = threads[1] and threads[1]:get("scenario") or "?"
   io.write(string.format(
      'RESULT {"scenario":%s,"threads":%d,"requests":%d,"duration_us":%.0f,'
         .. '"wrk_duration_us":%.0f,"stopped_by_limit":%s,"alerts_per_request":%d,'
         .. '"bytes":%d,"latency_us":{"p50":%.0f,"p95":%.0f,"p99":%.0f,"max":%.0f,'
         .. '"mean":%.1f},"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,'
         .. '"timeout":%d},"statuses":%s,"sample_error":%s}\n',
      json_string(scenario_name), #threads, summary.requests, duration_us,
      summary.duration, tostring(limited), ALERTS_PER_REQUEST[scenario_name] or 0,
      summary.bytes, latency:percentile(50), latency:percentile(95),
      latency:percentile(99), latency.max, latency.mean, errors.connect, errors.read,
      errors.write, errors.status, errors.timeout, merged_statuses(),
      json_string(first_sample_error())))
end
