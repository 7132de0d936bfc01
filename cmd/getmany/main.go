package main

import (
	"os"

	"tapagent/internal/snmpcli"
)

func main() { os.Exit(snmpcli.GetMany(snmpcli.OSEnv(), os.Args[1:])) }
