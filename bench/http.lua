-- bench/http.lua - wrk's requests for bench/http: hotlined's HTTP API as agents use it.
--
-- Owns: one request per call of request(), on keep-alive connections, each with
-- the account's bearer token: a ticket looked up (GET /api/v1/tickets/{no}, a
-- random one of the seeded tickets), a knowledge-base search (GET /api/v1/kb, a
-- random query, percent-encoded here), or, in mode "mixed", the two alternately;
-- and one machine-readable result line at the end (done()).
-- Never: sends anything but GET, or to any address but the one wrk was given.
-- Callers: bench/http (wrk -s bench/http.lua URL -- MODE TOKEN TICKETS QUERIES).
--
-- Arguments after "--": MODE (lookup, kb or mixed), TOKEN, the file of ticket
-- numbers (one a line), the file of search texts (one a line; "-" when unused).

local counter = 0

-- main state: number the threads, so each draws its own random sequence
function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

local function read_lines(path)
  local out = {}
  if path == nil or path == "-" then
    return out
  end
  for line in io.lines(path) do
    if line ~= "" then
      out[#out + 1] = line
    end
  end
  return out
end

local function escape(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local mode, headers, lookups, searches
local n = 0

function init(args)
  mode = args[1]
  headers = { ["Authorization"] = "Bearer " .. args[2], ["Accept"] = "application/json" }
  lookups = {}
  for _, no in ipairs(read_lines(args[3])) do
    lookups[#lookups + 1] = "/api/v1/tickets/" .. escape(no)
  end
  searches = {}
  for _, q in ipairs(read_lines(args[4])) do
    searches[#searches + 1] = "/api/v1/kb?q=" .. escape(q) .. "&limit=10"
  end
  if (mode ~= "kb" and #lookups == 0) or (mode ~= "lookup" and #searches == 0) then
    error("bench/http.lua: nothing to request in mode " .. tostring(mode))
  end
  math.randomseed(os.time() * 100 + (thread_id or 0))
end

function request()
  n = n + 1
  local path
  if mode == "lookup" or (mode == "mixed" and n % 2 == 0) then
    path = lookups[math.random(#lookups)]
  else
    path = searches[math.random(#searches)]
  end
  return wrk.format("GET", path, headers)
end

-- main state: one line for bench/http to read (latency in microseconds)
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d "
      .. "status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
