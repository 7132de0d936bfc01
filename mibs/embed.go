// Package mibs holds the MIB module files tapagent serves and the bindings
// between them and the engines. This file embeds the module text so tools
// can resolve names without any MIB files installed on the host.
package mibs

import (
	"embed"
	"sync"

	"tapagent/mibs/smi"
)

// Files holds the module text: base/ has the standard modules ours import
// (kept apart so they never shadow a system's own copies), modules/ has
// the modules tapagent implements. Each file is named like its module.
//
//go:embed base/* modules/*
var Files embed.FS

// Dirs are the directories of Files that hold modules, in load order.
var Dirs = []string{"base", "modules"}

var loadOnce = sync.OnceValues(func() (*smi.Tree, error) {
	return smi.Load(Files, Dirs...)
})

// Tree returns the embedded modules parsed and resolved. It is parsed once;
// the tree is read-only and shared.
func Tree() (*smi.Tree, error) { return loadOnce() }
