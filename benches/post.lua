-- wrk: POST the JSON body in $BODY_FILE to the URL under test.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- $ACCEPT, when set and not empty, is sent as the Accept header.
local accept = os.getenv("ACCEPT")
if accept and accept ~= "" then wrk.headers["Accept"] = accept end
local f = assert(io.open(os.getenv("BODY_FILE"), "r"))
wrk.body = f:read("*a")
f:close()
