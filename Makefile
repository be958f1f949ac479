# make bench: the hot paths' Go benchmarks and a short load run against `unmogrowp serve` and
# the seed-shaped baseline, written to docs/performance.md (scripts/bench.sh says how to
# tune it). make test: the README's test command.
.PHONY: bench test

bench:
	bash scripts/bench.sh

test:
	go test -race -count=1 ./...
