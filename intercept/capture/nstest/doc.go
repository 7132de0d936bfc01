// Package nstest makes throwaway Linux network namespaces for tests: a
// namespace per test, veth pairs between them, and a way to run Go code
// (socket creation, interface lookups) inside one. Everything is removed
// when the test ends, also on failure, and namespaces left by a killed test
// process are removed by the next run. The tests of the intercept data
// plane (capture, deliver) use it; it needs root.
package nstest
