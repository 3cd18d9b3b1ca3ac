module quiver.local/quiver

go 1.24
