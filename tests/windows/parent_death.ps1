# SPDX-License-Identifier: MIT
# Parent death by `taskkill /F` (TerminateProcess): `tether run` of a tree
# (test_spawn_win32 --child middle: a child that starts a grandchild) is
# killed; the Job Object closes with the process and every process of the
# tree is gone within 5 s. The peer: the same tree started by a plain
# `cmd /c start /b` survives its parent's death.
param([Parameter(Mandatory = $true)][string]$Bin)
. "$PSScriptRoot/common.ps1"
$tether = Join-Path $Bin 'tether.exe'
$tmp = Join-Path ([IO.Path]::GetTempPath()) "tether-pdeath-$PID"
New-Item -ItemType Directory -Force -Path $tmp | Out-Null

function Get-Tree([int]$root) {
  $all = @(); $todo = @($root)
  while ($todo.Count -gt 0) {
    $next = @()
    foreach ($q in $todo) { $c = Get-Children $q; $all += $c; $next += $c }
    $todo = $next
  }
  return $all
}

# ping -n 60 as the program, under cmd so that there are two levels.
$p = Start-Logged $tether @('run', '--', 'cmd.exe', '/c', 'ping -n 60 127.0.0.1 >NUL') "$tmp/run"
Start-Sleep -Seconds 2
$tree = Get-Tree $p.Id
if ($tree.Count -lt 2) { Stop-Process -Id $p.Id -Force; Fail "expected cmd and ping under tether, found $($tree.Count)" }
& taskkill.exe /F /PID $p.Id | Out-Null
$sw = [Diagnostics.Stopwatch]::StartNew()
do {
  $left = @($tree | Where-Object { Get-Process -Id $_ -ErrorAction SilentlyContinue })
  if ($left.Count -eq 0) { break }
  Start-Sleep -Milliseconds 50
} while ($sw.ElapsedMilliseconds -lt 5000)
if ($left.Count -ne 0) {
  $left | ForEach-Object { Stop-Process -Id $_ -Force -ErrorAction SilentlyContinue }
  Fail "$($left.Count) process(es) of the tree survived tether's TerminateProcess"
}
Write-Host "tree of $($tree.Count) gone in $($sw.ElapsedMilliseconds) ms"

# Peer: without tether the grandchild survives.
$peer = Start-Process -FilePath 'cmd.exe' -ArgumentList @('/c', 'ping -n 60 127.0.0.1 >NUL') -PassThru -WindowStyle Hidden
Start-Sleep -Seconds 1
$ptree = Get-Tree $peer.Id
& taskkill.exe /F /PID $peer.Id | Out-Null
Start-Sleep -Seconds 1
$pleft = @($ptree | Where-Object { Get-Process -Id $_ -ErrorAction SilentlyContinue })
$pleft | ForEach-Object { Stop-Process -Id $_ -Force -ErrorAction SilentlyContinue }
if ($pleft.Count -eq 0) { Write-Host 'note: the peer tree died too (the runner kills orphans?)' }
Remove-Item -Recurse -Force $tmp -ErrorAction SilentlyContinue
exit 0
