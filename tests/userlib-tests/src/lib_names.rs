//! The library on names: the ABI version, create (exclusive or not) and open, missing names,
//! invalid and too long names and modes, the longest name and every printable byte.

use crate::common::*;

fn lib_abi_version() -> R {
    let v = ok(kcompletion::abi_version())?;
    ensure!(v == kcompletion::ABI_VERSION, "driver {v}");
    Ok(())
}

fn lib_create_exclusive_and_reopen() -> R {
    let (n, _g, c) = object("excl")?;
    fails(
        Completion::create(&n, &Options::new().exclusive(true)),
        ErrorKind::Exists,
        Some(libc::EEXIST),
    )?;
    let c2 = ok(Completion::create(&n, &Options::default()))?;
    let (i1, i2) = (ok(c.info())?, ok(c2.info())?);
    ensure!(i1.id == i2.id, "{i1:?} {i2:?}");
    ensure!(i1.name == n && c.name() == n && c2.name() == n);
    ensure!(i2.mode == 0o600 && i2.linked && i2.handles == 2, "{i2:?}");
    // SAFETY: plain getters.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    ensure!(i2.uid == uid && i2.gid == gid, "{i2:?}");
    Ok(())
}

fn lib_open_missing() -> R {
    let n = name("missing");
    fails(
        Completion::open(&n),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
    )?;
    fails(
        Completion::open_with(&n, Access::Read),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
    )?;
    fails(
        kcompletion::unlink(&n),
        ErrorKind::NotFound,
        Some(libc::ENOENT),
    )?;
    let e = Completion::open(&n).unwrap_err();
    ensure!(
        e.to_string() == format!("open \"{n}\": no such completion"),
        "{e}"
    );
    Ok(())
}

fn lib_names_and_modes() -> R {
    fails(
        Completion::create("bad name", &Options::default()),
        ErrorKind::InvalidName,
        Some(libc::EINVAL),
    )?;
    fails(
        Completion::open(""),
        ErrorKind::InvalidName,
        Some(libc::EINVAL),
    )?;
    fails(
        Completion::create(&"x".repeat(64), &Options::default()),
        ErrorKind::NameTooLong,
        Some(libc::ENAMETOOLONG),
    )?;
    fails(
        Completion::create(&name("mode"), &Options::new().mode(0o1000)),
        ErrorKind::InvalidArgument,
        Some(libc::EINVAL),
    )?;
    // The longest name and every printable byte work.
    let long = format!("{}{}", name("long-"), "y".repeat(63))
        .split_at(63)
        .0
        .to_owned();
    let odd = name("!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~");
    let _g = cleanup(&[&long, &odd]);
    create(&long)?;
    create(&odd)?;
    ensure!(ok(ok(Completion::open(&long))?.info())?.name == long);
    ensure!(ok(ok(Completion::open(&odd))?.info())?.name == odd);
    Ok(())
}

pub const CASES: &[Case] = &[
    ("library: abi_version matches", lib_abi_version),
    (
        "library: create exclusive, Exists, non-exclusive reopens",
        lib_create_exclusive_and_reopen,
    ),
    (
        "library: open/unlink of a missing name is NotFound",
        lib_open_missing,
    ),
    (
        "library: invalid names, too long names, bad mode",
        lib_names_and_modes,
    ),
];
