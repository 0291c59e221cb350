-- wrk script: inclusion proofs for random indexes in [0, SIZE).
--   SIZE=<tree size> wrk -t2 -c64 -d10s -s bench/wrk/proofs.lua http://127.0.0.1:PORT
-- Each wrk thread seeds its own generator, so threads ask for different indexes.
local size = tonumber(os.getenv("SIZE") or "")
assert(size and size > 0, "set SIZE to the log's tree size")
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
end

function request()
  return wrk.format("GET", "/v1/proof/inclusion?index=" .. math.random(0, size - 1))
end

