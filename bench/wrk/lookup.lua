-- wrk script: lookup-proof bundles for a list of request paths (one per
-- line, "/v1/lookup?key=asset:<hex>", written by the lookup_keys example:
-- half for assets the log holds, half absent), picked at random.
--   KEYS=<file> wrk -t2 -c64 -d10s -s bench/wrk/lookup.lua http://127.0.0.1:PORT
local file = assert(os.getenv("KEYS"), "set KEYS to the list of lookup paths")
local paths = {}
for line in io.lines(file) do
  if #line > 0 then paths[#paths + 1] = line end
end
assert(#paths > 0, "no lookup paths in " .. file)
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
end

function request()
  return wrk.format("GET", paths[math.random(1, #paths)],
    { ["Accept"] = "application/vnd.provlog.lookup+cbor" })
end
-- wrk prints "Non-2xx or 3xx responses: N" if any answer failed;
-- bench/lookup.sh refuses a run with such a line.
