"""Makes the bench inputs: one large random file, and a zip archive of many small random files
(stored, like an image archive: JPEG does not compress).

usage: python3 gen_data.py FOLDER BIG_MIB ZIP_FILES ZIP_FILE_KIB
"""
import os
import sys
import zipfile

folder, big_mib, zip_files, file_kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(folder, exist_ok=True)
big = os.path.join(folder, "big.bin")
if not os.path.exists(big) or os.path.getsize(big) != big_mib << 20:
    with open(big, "wb") as f:
        for _ in range(big_mib):
            f.write(os.urandom(1 << 20))
archive = os.path.join(folder, "images.zip")
def matches():
    try:
        with zipfile.ZipFile(archive) as z:
            infos = z.infolist()
            return len(infos) == zip_files and infos[0].file_size == file_kib << 10
    except (OSError, zipfile.BadZipFile):
        return False
if not matches():
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for i in range(zip_files):
            z.writestr(f"images/v7w_{i}.jpg", os.urandom(file_kib << 10))
