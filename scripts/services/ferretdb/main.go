// Command ferretdb runs FerretDB 1.x (MongoDB wire protocol) for chat's service tests, on
// PostgreSQL (-postgresql URL: the shared instance, which takes concurrent writes) or on SQLite
// (-dir: the fault suite's own instance, stopped and restarted mid-test). The upstream binary
// built with `go install` panics at start (FerretDB issue 2982: it wants a generated version
// file the module does not ship); the embeddable package skips that check.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "", "existing directory for the SQLite files")
	pg := flag.String("postgresql", "", "PostgreSQL URL: the PostgreSQL backend instead of SQLite")
	flag.Parse()
	cfg := &ferretdb.Config{Listener: ferretdb.ListenerConfig{TCP: *addr}}
	switch {
	case *pg != "":
		cfg.Handler = "postgresql"
		cfg.PostgreSQLURL = *pg
	case *dir != "":
		cfg.Handler = "sqlite"
		cfg.SQLiteURL = "file:" + *dir + "/"
	default:
		log.Fatal("-dir or -postgresql is required")
	}
	f, err := ferretdb.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("ferretdb listening on %s on %s", *addr, cfg.Handler)
	f.Run(ctx)
}
