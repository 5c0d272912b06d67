-- wrk script for bench/intake_single.py: POST /v1/applications, one fresh application per request.
-- Arguments (after `--`): the API key, and a block number 0-39 that the bench gives each run and each
-- target, so that no phone repeats across threads, runs or targets (intake answers a repeated phone
-- with 200, not 201). A phone is 6,000,000,000 + block * 100,000,000 + counter * 64 + thread: ten
-- digits starting 6-9 (a valid Indian mobile), unique for up to 64 threads and ~1.5 million requests
-- per thread. At the end, one line `RESULT {...}` in JSON for the bench to read.

local threads = {}
local next_thread = 0

function setup(thread)
   thread:set("thread_number", next_thread)
   next_thread = next_thread + 1
   table.insert(threads, thread)
end

local names = {"Asha Meena", "Ravi Sharma", "Meera Verma", "Arjun Das", "Priya Patel", "Vikram Yadav",
               "आशा मीणा", "रवि शर्मा"}
local places = {{"RJ", "Ajmer"}, {"RJ", "Alwar"}, {"UP", "Lucknow"}, {"UP", "Kanpur Nagar"}, {"MH", "Pune"},
                {"BR", "Patna"}, {"DL", "New Delhi"}, {"KA", "Mysuru"}}
local template = '{"full_name": "%s", "phone": "%s", "email": "user%s@example.com", "state": "%s", '
   .. '"district": "%s", "age": %d, "languages": ["Hindi", "English"], "skills": ["content_writing"], '
   .. '"social": {"twitter": "@user%s"}, "hours_per_week": %d, "consent": true}'

function init(args)
   api_key = args[1]
   block = tonumber(args[2])
   counter = 0
   created = 0
   other = 0
   math.randomseed(thread_number * 7919 + block)
   wrk.method = "POST"
   wrk.path = "/v1/applications"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["X-Api-Key"] = api_key
end

function request()
   counter = counter + 1
   local phone = string.format("%.0f", 6000000000 + block * 100000000 + counter * 64 + thread_number)
   local place = places[math.random(#places)]
   local body = string.format(template, names[math.random(#names)], phone, phone, place[1], place[2],
                              math.random(18, 60), phone, math.random(1, 40))
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   if status == 201 then
      created = created + 1
   else
      other = other + 1
      if other <= 3 then
         io.stderr:write("unexpected " .. status .. ": " .. string.sub(body, 1, 300) .. "\n")
      end
   end
end

function done(summary, latency, requests)
   local total_created, total_other = 0, 0
   for _, thread in ipairs(threads) do
      total_created = total_created + thread:get("created")
      total_other = total_other + thread:get("other")
   end
   local errors = summary.errors
   io.write(string.format('RESULT {"created": %d, "other": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, '
                          .. '"max_ms": %.2f, "socket_errors": %d}\n',
                          total_created, total_other, summary.duration / 1e6, latency:percentile(50) / 1000,
                          latency:percentile(99) / 1000, latency.max / 1000,
                          errors.connect + errors.read + errors.write + errors.timeout))
end
