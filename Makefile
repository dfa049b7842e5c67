# Every target that runs code first makes sure the toolchain is there (scripts/bootstrap.sh).
SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/node_modules/.bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: run test test-faults bench typecheck bootstrap clean

bootstrap:
	@scripts/bootstrap.sh --need-redis

run:
	@scripts/bootstrap.sh $(if $(REDIS_URL),,--need-redis)
	@scripts/run.sh

test: bootstrap
	@scripts/bootstrap.sh --need-browser
	npm run typecheck
	npm test

# The fault-injection suite alone (also part of `make test`); FAULTS_QUICK=1 runs fewer rounds.
test-faults: bootstrap
	npx mocha 'test/faults/**/*.test.ts'

bench: bootstrap
	npm run bench

typecheck: bootstrap
	npm run typecheck

clean:
	rm -rf node_modules .tools data
