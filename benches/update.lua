-- wrk: updateEntity on entities of a generated graph (ids e-0000000 to
-- e-0999999), renaming each, so that writes go on without the graph
-- growing. Settings from the environment: TOKEN (the write token),
-- DOCUMENT and QUOTE (the evidence of each new name), ENTITIES (how many
-- the graph holds; 1000000 unless set).
local token = os.getenv("TOKEN")
local document = os.getenv("DOCUMENT")
local quote = os.getenv("QUOTE")
local entities = tonumber(os.getenv("ENTITIES") or "1000000")
local threads = 0
counter = 0
offset = 0

function setup(thread)
  threads = threads + 1
  thread:set("offset", threads * 104729)
end

function request()
  counter = counter + 1
  -- A stride prime to the count visits entities all over the graph.
  local n = (offset + counter * 7919) % entities
  local body = '{"query":"mutation($id: ID!, $p: EntityPatch!) { updateEntity(id: $id, patch: $p) { id } }",' ..
    '"variables":{"id":"e-' .. string.format("%07d", n) .. '","p":{"name":"Renamed Force ' .. counter ..
    '","sources":[{"document":"' .. document .. '","quote":"' .. quote .. '"}]}}}'
  return wrk.format("POST", "/graphql", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"') then
    io.stderr:write("write failed: " .. status .. " " .. body .. "\n")
  end
end
