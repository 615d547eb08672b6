module floe/faultproxy

go 1.22
