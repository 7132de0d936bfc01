package main

import (
	"os"

	"tapagent/internal/snmpcli"
)

func main() { os.Exit(snmpcli.SetAny(snmpcli.OSEnv(), os.Args[1:])) }
