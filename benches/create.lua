-- wrk: createEntity with an id no request has used, for write throughput.
-- Settings come from the environment: TOKEN (the write token), DOCUMENT and
-- QUOTE (the evidence every entity quotes), RUN (a prefix unique to the run),
-- and DELAY_MS, if set, a pause before each request (to pace the writes).
-- Global, as update.lua builds on this script.
token = os.getenv("TOKEN")
document = os.getenv("DOCUMENT")
quote = os.getenv("QUOTE")
local run = os.getenv("RUN")
local delay_ms = tonumber(os.getenv("DELAY_MS") or "")
local threads = 0
counter = 0
prefix = "t"

function setup(thread)
  threads = threads + 1
  thread:set("prefix", run .. "-" .. threads)
end

function request()
  counter = counter + 1
  local id = prefix .. "-" .. counter
  local body = '{"query":"mutation($i: EntityInput!) { createEntity(input: $i) { id } }",' ..
    '"variables":{"i":{"id":"bench-' .. id .. '","kind":"ARMED_FORCE","name":"Bench Force ' .. id ..
    '","sources":[{"document":"' .. document .. '","quote":"' .. quote .. '"}]}}}'
  return post(body)
end

-- A POST of `body` to /graphql with the write token.
function post(body)
  return wrk.format("POST", "/graphql", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

if delay_ms then
  function delay()
    return delay_ms
  end
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"') then
    io.stderr:write("write failed: " .. status .. " " .. body .. "\n")
  end
end
