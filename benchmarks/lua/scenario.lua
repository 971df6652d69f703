-- One wrk script for every scenario, configured by environment variables
-- (set by benchmarks/bench.py):
--   WRK_METHOD        GET or POST
--   WRK_PATH          path and query of every request
--   WRK_BODIES        file with one form-encoded body per line; each thread takes
--                     every WRK_THREADS-th line and cycles through them (bodies
--                     that may be used once, e.g. client assertions with a jti)
--   WRK_THREADS       wrk's -t, to split WRK_BODIES between threads
--   WRK_BODY_HEADER   a header whose value starts each WRK_BODIES line, before a
--                     tab (optional; e.g. a single-use DPoP proof)
--   WRK_AUTHORIZATION value of an Authorization header (optional)
--   WRK_COOKIE        value of a Cookie header (optional)
--   WRK_EXPECT        a string every good response body contains (optional)
-- A response is an error when its status is not 2xx or its body lacks WRK_EXPECT.
-- done() prints one JSON line prefixed with "WRK_RESULT ".

local threads = {}
local counter = 0

function setup(thread)
   thread:set("thread_id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local bodies = {}
local body_headers = {}
local body_header = os.getenv("WRK_BODY_HEADER") or ""
local next_body = 1
local method = os.getenv("WRK_METHOD") or "GET"
local path = os.getenv("WRK_PATH") or "/"
local expect = os.getenv("WRK_EXPECT")
local headers = {}

errors = 0
wrapped = 0
first_error = ""
used = 0

function init(args)
   local file_name = os.getenv("WRK_BODIES")
   local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
   if file_name and file_name ~= "" then
      local i = 0
      for line in io.lines(file_name) do
         if i % nthreads == thread_id then
            if body_header ~= "" then
               local tab = string.find(line, "\t", 1, true)
               table.insert(body_headers, string.sub(line, 1, tab - 1))
               line = string.sub(line, tab + 1)
            end
            table.insert(bodies, line)
         end
         i = i + 1
      end
      headers["Content-Type"] = "application/x-www-form-urlencoded"
   end
   local authorization = os.getenv("WRK_AUTHORIZATION")
   if authorization and authorization ~= "" then
      headers["Authorization"] = authorization
   end
   local cookie = os.getenv("WRK_COOKIE")
   if cookie and cookie ~= "" then
      headers["Cookie"] = cookie
   end
end

function request()
   local body = nil
   if #bodies > 0 then
      body = bodies[next_body]
      if body_header ~= "" then
         headers[body_header] = body_headers[next_body]
      end
      next_body = next_body + 1
      if next_body > #bodies then
         next_body = 1
         wrapped = wrapped + 1
      end
   end
   used = used + 1
   return wrk.format(method, path, headers, body)
end

function response(status, resp_headers, body)
   local bad = status < 200 or status > 299
   if not bad and expect and expect ~= "" and not string.find(body or "", expect, 1, true) then
      bad = true
   end
   if bad then
      errors = errors + 1
      if first_error == "" then
         first_error = tostring(status) .. " " .. string.sub(body or "", 1, 300)
      end
   end
end

local function json_string(s)
   s = string.gsub(s, "\\", "\\\\")
   s = string.gsub(s, '"', '\\"')
   s = string.gsub(s, "[%c]", " ")
   return '"' .. s .. '"'
end

function done(summary, latency, requests)
   local bad, wraps, sent, first = 0, 0, 0, ""
   for _, thread in ipairs(threads) do
      bad = bad + thread:get("errors")
      wraps = wraps + thread:get("wrapped")
      sent = sent + thread:get("used")
      if first == "" then
         first = thread:get("first_error")
      end
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "bad_responses": %d, ' ..
      '"socket_errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}, ' ..
      '"requests_built": %d, "bodies_wrapped": %d, "first_error": %s}\n',
      summary.requests, summary.duration, summary.bytes, bad,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
      sent, wraps, json_string(first)))
end
