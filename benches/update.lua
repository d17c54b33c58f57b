-- wrk: updateEntity on entities of a generated graph (ids e-0000000 to
-- e-0999999), renaming each, so that writes go on without the graph
-- growing. Settings as for create.lua (TOKEN, DOCUMENT, QUOTE: the
-- evidence of each new name; DELAY_MS), and ENTITIES, how many the graph
-- holds (1000000 unless set). The token, the pause and the check of each
-- answer are create.lua's, and so are `token`, `document`, `quote` and
-- `post`.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "create.lua")

local entities = tonumber(os.getenv("ENTITIES") or "1000000")
local threads = 0
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
  return post(body)
end
