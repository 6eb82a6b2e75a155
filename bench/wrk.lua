-- wrk script of bench/run.sh: one request shape per run, set by the environment,
-- and one machine-readable result line appended to BENCH_OUT by done().
--
--   BENCH_METHOD   GET or POST (default GET)
--   BENCH_BODY     the request body (POST)
--   BENCH_TYPE     its Content-Type (default application/x-www-form-urlencoded)
--   BENCH_AUTH     an Authorization header value
--   BENCH_BODIES   a file of bodies, one a line: each wrk thread takes every
--                  n-th line and cycles over its share (BENCH_ONCE unset), or sends
--                  each once and then stops (BENCH_ONCE=1: single-use credentials)
--   BENCH_AUTHS    a file of Authorization values, cycled the same way
--   BENCH_STATUS   1: count answers per status (costs a Lua call per response)
--   BENCH_OUT      where done() appends its line
--
-- The line: requests=N seconds=S non2xx=N errors=N p50_ms= p90_ms= p99_ms= max_ms=
-- status=200:n,429:n (with BENCH_STATUS) sent_ok=N (2xx answers, with BENCH_STATUS)
-- span_s=S (BENCH_ONCE: first request to last single-use answer, all threads).

local threads = {}
local counter = 0

-- wrk's own duration is always -d (its main thread sleeps that long), so a run of
-- single-use bodies that ends early measures its span itself
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local function now()
   local t = ffi.new("bench_timespec")
   ffi.C.clock_gettime(1, t)
   return tonumber(t.tv_sec) + tonumber(t.tv_nsec) / 1e9
end

function setup(thread)
   thread:set("index", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local function share(path, index, count)
   local mine = {}
   local n = 0
   for line in io.lines(path) do
      if n % count == index then table.insert(mine, line) end
      n = n + 1
   end
   return mine
end

function init(args)
   method = os.getenv("BENCH_METHOD") or "GET"
   body = os.getenv("BENCH_BODY")
   headers = { ["Content-Type"] = os.getenv("BENCH_TYPE") or "application/x-www-form-urlencoded" }
   if os.getenv("BENCH_AUTH") then headers["Authorization"] = os.getenv("BENCH_AUTH") end
   once = os.getenv("BENCH_ONCE") == "1"
   count_status = os.getenv("BENCH_STATUS") == "1" or once
   local total = tonumber(os.getenv("BENCH_THREADS") or "1")
   if os.getenv("BENCH_BODIES") then bodies = share(os.getenv("BENCH_BODIES"), index, total) end
   if os.getenv("BENCH_AUTHS") then auths = share(os.getenv("BENCH_AUTHS"), index, total) end
   next_item = 0
   answered = 0
   statuses = {}
   fixed = wrk.format(method, nil, headers, body)
end

function request()
   if not bodies and not auths then return fixed end
   -- wrk calls the first thread's request() once before the run, to check what it
   -- returns (script_verify_request): that call must not use up an item
   if index == 0 and not verified then
      verified = true
      local list = bodies or auths
      if auths then headers["Authorization"] = auths[1] end
      return wrk.format(method, nil, headers, bodies and bodies[1] or body)
   end
   if not t_first then t_first = now() end
   next_item = next_item + 1
   local list = bodies or auths
   local i = next_item
   if once and i > #list then
      -- every single-use body was sent (wrk-once.lua's delay() keeps connections
      -- from getting here): a probe that answers 404, uses nothing up and is not
      -- counted as an answer
      return wrk.format("GET", "/bench-exhausted", {}, nil)
   end
   i = (i - 1) % #list + 1
   if auths then headers["Authorization"] = auths[i] end
   return wrk.format(method, nil, headers, bodies and bodies[i] or body)
end

function response(status, resp_headers, resp_body)
   if not count_status then return end
   statuses[status] = (statuses[status] or 0) + 1
   if once and status == 404 then return end
   answered = answered + 1
   if once and answered <= #bodies then t_last = now() end
   if once and answered >= #bodies then wrk.thread:stop() end
end

function done(summary, latency, requests)
   local merged = {}
   local first, last
   for _, thread in ipairs(threads) do
      local f, l = thread:get("t_first"), thread:get("t_last")
      if f and (not first or f < first) then first = f end
      if l and (not last or l > last) then last = l end
      local s = thread:get("statuses")
      if s then
         for code, n in pairs(s) do merged[code] = (merged[code] or 0) + n end
      end
   end
   local parts, ok = {}, 0
   for code, n in pairs(merged) do
      table.insert(parts, code .. ":" .. n)
      if code >= 200 and code < 300 then ok = ok + n end
   end
   table.sort(parts)
   local e = summary.errors
   local line = string.format(
      "requests=%d seconds=%.3f non2xx=%d errors=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f",
      summary.requests, summary.duration / 1e6, e.status, e.connect + e.read + e.write + e.timeout,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000)
   if #parts > 0 then
      line = line .. " status=" .. table.concat(parts, ",") .. " sent_ok=" .. ok
   end
   if os.getenv("BENCH_ONCE") == "1" and first and last then
      line = line .. string.format(" span_s=%.4f", last - first)
   end
   local out = io.open(os.getenv("BENCH_OUT"), "a")
   out:write(line .. "\n")
   out:close()
end
