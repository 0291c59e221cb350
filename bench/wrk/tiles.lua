-- wrk script: random full tiles from a list of paths (one per line, e.g.
-- "tile/0/x001/234"), the same list for provlog-server and for nginx serving
-- the exported tiles, so both answer the same requests.
--   TILES=<file> wrk -t2 -c64 -d10s -s bench/wrk/tiles.lua http://127.0.0.1:PORT
local file = assert(os.getenv("TILES"), "set TILES to the list of tile paths")
local paths = {}
for line in io.lines(file) do
  if #line > 0 then paths[#paths + 1] = "/" .. line end
end
assert(#paths > 0, "no tile paths in " .. file)
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
end

function request()
  return wrk.format("GET", paths[math.random(1, #paths)])
end

